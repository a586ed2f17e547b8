import * as Schema from "effect/Schema"

/** The replica file could not be opened, read or written. */
export class StoreError extends Schema.TaggedError<StoreError>()("StoreError", {
  operation: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `replica store: ${this.operation} failed: ${this.detail}`
  }
}

/** A document whose JSON is above the hard limit (5 MiB). */
export class DocumentTooLarge extends Schema.TaggedError<DocumentTooLarge>()("DocumentTooLarge", {
  collection: Schema.String,
  id: Schema.String,
  bytes: Schema.Number,
  limit: Schema.Number
}) {
  override get message() {
    return `document ${this.collection}/${this.id} is ${this.bytes} bytes, above the limit of ${this.limit} bytes`
  }
}

/** Warn above 256 KiB, refuse above 5 MiB. */
export const WARN_DOCUMENT_BYTES = 256 * 1024
export const MAX_DOCUMENT_BYTES = 5 * 1024 * 1024
