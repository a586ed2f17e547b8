import * as Schema from "effect/Schema"

/** INSERT without ON ID CONFLICT (or with FAIL) on an id that exists. */
export class DocumentExists extends Schema.TaggedError<DocumentExists>()("DocumentExists", {
  collection: Schema.String,
  id: Schema.String
}) {
  override get message() {
    return `a document with _id ${this.id} already exists in ${this.collection} (use ON ID CONFLICT DO UPDATE or DO NOTHING)`
  }
}

/** A statement that parsed but cannot run: a non-object document, writing `_id`, a bad value. */
export class InvalidStatement extends Schema.TaggedError<InvalidStatement>()("InvalidStatement", {
  message: Schema.String
}) {}

/** The replica actor has stopped (its scope closed); no more commands are taken. */
export class ReplicaStopped extends Schema.TaggedError<ReplicaStopped>()("ReplicaStopped", {}) {
  override get message() {
    return "the replica has stopped"
  }
}

/** A bug in a command's handling: that command fails, the replica keeps running. */
export class ReplicaDefect extends Schema.TaggedError<ReplicaDefect>()("ReplicaDefect", { detail: Schema.String }) {
  override get message() {
    return `internal error while handling a command: ${this.detail}`
  }
}
