/**
 * Typed errors of the query language. Both are `Schema.TaggedError`s, so they
 * can cross the wire (RPC, sync protocol) and be caught with `Effect.catchTag`.
 */
import * as Schema from "effect/Schema"

/**
 * The statement text is not valid DQL. `line` and `column` are 1-based and
 * point at the offending token; `token` is its source text (`""` at end of
 * input). `message` already contains the position, e.g.
 * `expected FROM after projection at line 1, column 10, found 'FORM'`.
 */
export class DqlSyntaxError extends Schema.TaggedError<DqlSyntaxError>()("DqlSyntaxError", {
  message: Schema.String,
  line: Schema.Number,
  column: Schema.Number,
  token: Schema.String
}) {}

/**
 * A `:name` argument is missing or has a value the statement cannot use
 * (LIMIT/OFFSET not a non-negative integer, INSERT document not an object).
 * `name` is the argument name without the colon.
 */
export class DqlArgumentError extends Schema.TaggedError<DqlArgumentError>()("DqlArgumentError", {
  name: Schema.String,
  message: Schema.String
}) {}

export type DqlError = DqlSyntaxError | DqlArgumentError
