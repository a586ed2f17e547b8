/**
 * Errors of the Shoal API. Each is a `Schema.TaggedError`: the server encodes
 * it, the client decodes it back into an instance of the same class, so
 * `Effect.catchTag("DqlError", …)` works across the wire. Every error has a
 * human-readable `message`; none carries a stack trace over the wire.
 */
import * as Schema from "effect/Schema"

/** A statement or its arguments are invalid (syntax, unknown function, missing `:arg`, …). HTTP 400. */
export class DqlError extends Schema.TaggedError<DqlError>()("DqlError", {
  message: Schema.String,
  line: Schema.optionalWith(Schema.Int, { exact: true }),
  column: Schema.optionalWith(Schema.Int, { exact: true })
}) {}

/** No credential, or a credential that is unknown, expired or not valid for this app. HTTP 401. */
export class Unauthorized extends Schema.TaggedError<Unauthorized>()("Unauthorized", {
  message: Schema.String
}) {}

/** The caller is authenticated but may not do this (permissions, admin-only call). HTTP 403. */
export class Forbidden extends Schema.TaggedError<Forbidden>()("Forbidden", {
  message: Schema.String
}) {}

/** No app with this id exists on the server. HTTP 404. */
export class AppNotFound extends Schema.TaggedError<AppNotFound>()("AppNotFound", {
  appId: Schema.String
}) {
  /** `app "<appId>" not found` */
  override get message(): string {
    return `app ${JSON.stringify(this.appId)} not found`
  }
}

/** A document (or request) is larger than the server accepts. HTTP 413. */
export class DocumentTooLarge extends Schema.TaggedError<DocumentTooLarge>()("DocumentTooLarge", {
  bytes: Schema.NonNegativeInt,
  limit: Schema.NonNegativeInt
}) {
  /** `document too large: <bytes> bytes (limit <limit> bytes)` */
  override get message(): string {
    return `document too large: ${this.bytes} bytes (limit ${this.limit} bytes)`
  }
}

/** A request that is malformed or not valid in the current state (e.g. the app already exists). HTTP 400. */
export class InvalidRequest extends Schema.TaggedError<InvalidRequest>()("InvalidRequest", {
  message: Schema.String
}) {}

/** Any error of the Shoal API, as a schema (decodes any of the tagged errors above). */
export const ShoalError = Schema.Union(DqlError, Unauthorized, Forbidden, AppNotFound, DocumentTooLarge, InvalidRequest)
/** See {@link ShoalError}. */
export type ShoalError = typeof ShoalError.Type

/** The HTTP status of an API error, for the HTTP Data API (never a 5xx: these are all caused by the caller). */
export const httpStatus = (error: ShoalError): 400 | 401 | 403 | 404 | 413 => {
  switch (error._tag) {
    case "DqlError":
    case "InvalidRequest":
      return 400
    case "Unauthorized":
      return 401
    case "Forbidden":
      return 403
    case "AppNotFound":
      return 404
    case "DocumentTooLarge":
      return 413
  }
}
