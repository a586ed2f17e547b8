/**
 * Read/write permissions of a principal, evaluated against documents.
 *
 * A {@link Rule} either allows `everything` or lists, per collection, DQL
 * predicates (`"owner = 'alice' AND NOT archived"`, `"_id = 'x'"`): a document
 * is covered when at least one predicate of its collection matches it. No
 * rule means nothing is allowed. Permissions travel as JSON (auth webhook
 * answer, signed token claims, API key metadata) and are compiled once
 * ({@link compile}) before being evaluated many times.
 *
 * Writes are checked on both sides of the change ({@link canWrite}): a writer
 * may neither move a document out of nor into the set it may write.
 *
 * Pure: no IO. Predicates are parsed with the DQL parser and evaluated with
 * the DQL evaluator, so they mean exactly what a `WHERE` clause means.
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { Ast, Evaluate, Parser } from "./Dql/index.js"
import type { Json, JsonObject } from "./Json.js"

/**
 * One access rule (read or write): `everything` allows all documents of all
 * collections; otherwise a document of collection `c` is allowed when one of
 * `queriesByCollection[c]` (DQL predicates) matches it.
 */
export const Rule = Schema.Struct({
  everything: Schema.Boolean,
  queriesByCollection: Schema.Record({ key: Schema.String, value: Schema.Array(Schema.String) })
})
/** See {@link Rule}. */
export type Rule = typeof Rule.Type

/**
 * The permissions of a principal: what it may read and what it may write.
 * The JSON shape of the auth webhook answer (`permissions: { read, write }`).
 */
export const Permissions = Schema.Struct({ read: Rule, write: Rule })
/** See {@link Permissions}. */
export type Permissions = typeof Permissions.Type

/** A rule allowing nothing. */
export const ruleNone: Rule = { everything: false, queriesByCollection: {} }
/** A rule allowing everything. */
export const ruleAll: Rule = { everything: true, queriesByCollection: {} }

/** No permission: nothing may be read or written (the default for an unknown principal). */
export const none: Permissions = { read: ruleNone, write: ruleNone }
/** Everything may be read and written (offline-playground apps, admins). */
export const all: Permissions = { read: ruleAll, write: ruleAll }

/** Read-only access to everything. */
export const readOnly: Permissions = { read: ruleAll, write: ruleNone }

/**
 * A permission predicate that is not valid DQL. Carries where it was found
 * (`access`, `collection`, `query`) and the parser's position when known.
 */
export class PermissionQueryError extends Schema.TaggedError<PermissionQueryError>()("PermissionQueryError", {
  access: Schema.Literal("read", "write"),
  collection: Schema.String,
  query: Schema.String,
  /** What is wrong, with the position when it is a syntax error. */
  reason: Schema.String,
  /** 1-based position in `query` of a syntax error. */
  line: Schema.optionalWith(Schema.Number, { exact: true }),
  column: Schema.optionalWith(Schema.Number, { exact: true })
}) {
  /** `invalid read permission query for collection "tasks" ("owner ="): <reason>` */
  override get message(): string {
    return `invalid ${this.access} permission query for collection ${JSON.stringify(this.collection)} (${
      JSON.stringify(this.query)
    }): ${this.reason}`
  }
}

/** A compiled rule: `true` (everything) or the parsed predicates per collection. */
export type CompiledRule =
  | { readonly everything: true }
  | { readonly everything: false; readonly byCollection: ReadonlyMap<string, ReadonlyArray<Ast.Expr>> }

/** {@link Permissions} with every predicate parsed once; evaluate with {@link canRead} / {@link canWrite}. */
export interface Compiled {
  readonly read: CompiledRule
  readonly write: CompiledRule
  /** The permissions this was compiled from. */
  readonly source: Permissions
}

const noArgs: Record<string, Json> = {}

const compileRule = (
  access: "read" | "write",
  rule: Rule
): Either.Either<CompiledRule, PermissionQueryError> => {
  if (rule.everything) return Either.right({ everything: true })
  const byCollection = new Map<string, ReadonlyArray<Ast.Expr>>()
  for (const collection of Object.keys(rule.queriesByCollection)) {
    const queries = rule.queriesByCollection[collection] ?? []
    const exprs: Array<Ast.Expr> = []
    for (const query of queries) {
      const parsed = Parser.parseExpression(query)
      if (Either.isLeft(parsed)) {
        const e = parsed.left
        return Either.left(
          new PermissionQueryError({ access, collection, query, reason: e.message, line: e.line, column: e.column })
        )
      }
      const args = Ast.exprArgNames(parsed.right)
      if (args.length > 0) {
        return Either.left(
          new PermissionQueryError({
            access,
            collection,
            query,
            reason: `permission queries cannot use arguments (:${args.join(", :")})`
          })
        )
      }
      exprs.push(parsed.right)
    }
    if (exprs.length > 0) byCollection.set(collection, exprs)
  }
  return Either.right({ everything: false, byCollection })
}

/**
 * Parses every predicate of `perms` once. Fails with the first invalid
 * predicate as a {@link PermissionQueryError}.
 */
export const compile = (perms: Permissions): Either.Either<Compiled, PermissionQueryError> =>
  Either.flatMap(
    compileRule("read", perms.read),
    (read) => Either.map(compileRule("write", perms.write), (write) => ({ read, write, source: perms }))
  )

/** {@link all}, compiled. */
export const compiledAll: Compiled = { read: { everything: true }, write: { everything: true }, source: all }
/** {@link none}, compiled. */
export const compiledNone: Compiled = {
  read: { everything: false, byCollection: new Map() },
  write: { everything: false, byCollection: new Map() },
  source: none
}

const ruleMatches = (rule: CompiledRule, collection: string, doc: JsonObject): boolean => {
  if (rule.everything) return true
  const exprs = rule.byCollection.get(collection)
  if (exprs === undefined) return false
  for (const expr of exprs) if (Evaluate.matches(expr, doc, noArgs)) return true
  return false
}

/** `true` when `doc` of `collection` may be read: read.everything, or one read predicate of that collection matches it. */
export const canRead = (compiled: Compiled, collection: string, doc: JsonObject): boolean =>
  ruleMatches(compiled.read, collection, doc)

/**
 * `true` when a change of a document of `collection` from `before` (undefined:
 * it did not exist) to `after` (undefined: it is removed) may be made.
 *
 * Allowed iff write.everything, or a write predicate of that collection
 * matches `after` (or `before` for a removal) and, when the document existed
 * before, also matches `before` — so a writer can neither take a document out
 * of its permitted set nor bring one in. The same predicate need not match
 * both sides: `before` and `after` must each be inside the writable set.
 * A change with neither side (`undefined`, `undefined`) is refused.
 */
export const canWrite = (
  compiled: Compiled,
  collection: string,
  before: JsonObject | undefined,
  after: JsonObject | undefined
): boolean => {
  const rule = compiled.write
  if (rule.everything) return true
  if (before === undefined && after === undefined) return false
  if (after !== undefined && !ruleMatches(rule, collection, after)) return false
  if (before !== undefined && !ruleMatches(rule, collection, before)) return false
  return true
}

