/**
 * Running DQL for a caller with permissions: the one implementation behind
 * the HTTP Data API and the RPC `Execute` / `Observe` / `ReadOpLog`.
 *
 * - Reads: the caller's read predicates of the collection are AND-ed into the
 *   query's `WHERE` (so `ORDER BY`, `LIMIT` and projections apply to what it
 *   may see, and a predicate may use fields the projection drops). No read
 *   rule for the collection: the result is empty.
 * - Writes: unless the caller may write everything, the statement runs inside
 *   one replica transaction that records every touched document before and
 *   after the change and checks `Permissions.canWrite` on each; one refusal
 *   fails the transaction, so nothing of the statement is stored (403).
 * - `EVICT`, `CREATE INDEX`, `DROP INDEX` need unrestricted permissions.
 * - `txnId` (read-your-writes) waits, bounded, for the replica to reach that
 *   transaction.
 *
 * Errors are the client's tagged errors (`@shoal/client` `Errors`), so both
 * APIs report them the same way. Store failures are defects (server faults).
 */
import type { Api } from "@shoal/client"
import { Errors } from "@shoal/client"
import { Dql, Json, type Op, Permissions } from "@shoal/core"
import type { ExecuteError } from "@shoal/peer"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"
import type { Access } from "./Access.js"
import type { Tenant } from "./Tenants.js"

/** What `Execute` may fail with (all caused by the caller). */
export type QueryFailure = Errors.DqlError | Errors.Forbidden | Errors.DocumentTooLarge | Errors.InvalidRequest

/** One statement to run. */
export interface ExecuteInput {
  readonly statement: string
  readonly args?: Json.JsonObject | undefined
  /** Run only once the replica reached this transaction (read-your-writes). */
  readonly txnId?: number | undefined
}

type Failure = ExecuteError | Errors.Forbidden

/** Maps replica errors to API errors; store and actor failures become defects. */
export const toApiError = (e: Failure): Effect.Effect<never, QueryFailure> => {
  switch (e._tag) {
    case "DqlSyntaxError":
      return Effect.fail(new Errors.DqlError({ message: e.message, line: e.line, column: e.column }))
    case "DqlArgumentError":
    case "InvalidStatement":
      return Effect.fail(new Errors.DqlError({ message: e.message }))
    case "DocumentExists":
      return Effect.fail(new Errors.InvalidRequest({ message: e.message }))
    case "DocumentTooLarge":
      return Effect.fail(new Errors.DocumentTooLarge({ bytes: e.bytes, limit: e.limit }))
    case "Forbidden":
      return Effect.fail(e)
    case "StoreError":
    case "ReplicaStopped":
    case "ReplicaDefect":
      return Effect.die(e)
  }
}

const result = (
  transactionId: number,
  queryType: Api.QueryType,
  items: ReadonlyArray<Json.JsonObject>,
  mutatedDocumentIds: ReadonlyArray<Json.Json>,
  warnings: ReadonlyArray<string>
): Api.QueryResult => ({
  transactionId,
  queryType,
  items,
  mutatedDocumentIds,
  warnings: warnings.map((description) => ({ description })),
  totalWarningsCount: warnings.length
})

/**
 * The predicate a reader of `collection` is limited to: `Some(undefined)` =
 * everything, `Some(expr)` = documents matching `expr`, `None` = nothing.
 */
export const readFilter = (
  permissions: Permissions.Compiled,
  collection: string
): Option.Option<Dql.Ast.Expr | undefined> => {
  const rule = permissions.read
  if (rule.everything) return Option.some(undefined)
  const exprs = rule.byCollection.get(collection)
  if (exprs === undefined || exprs.length === 0) return Option.none()
  return Option.some(exprs.slice(1).reduce<Dql.Ast.Expr>((acc, e) => Dql.Ast.or(acc, e), exprs[0]!))
}

/** The SELECT a reader may run: its WHERE AND-ed with its read predicates; `None` when it may read nothing there. */
export const restrictSelect = (select: Dql.Ast.Select, permissions: Permissions.Compiled): Option.Option<Dql.Ast.Select> =>
  Option.map(readFilter(permissions, select.collection), (filter): Dql.Ast.Select => {
    if (filter === undefined) return select
    const where = select.where === undefined ? filter : Dql.Ast.and(select.where, filter)
    return { ...select, where }
  })

const unrestricted = (permissions: Permissions.Compiled) => permissions.read.everything && permissions.write.everything

const forbidden = (message: string) => new Errors.Forbidden({ message })

/** Parsed statements by text (clients repeat a few statements with different args). */
const parsedCache = new Map<string, Dql.Ast.Statement>()
const PARSED_CACHE_MAX = 1024

const parse = (statement: string): Effect.Effect<Dql.Ast.Statement, Errors.DqlError> => {
  const hit = parsedCache.get(statement)
  if (hit !== undefined) return Effect.succeed(hit)
  const parsed = Dql.Parser.parse(statement)
  if (Either.isLeft(parsed)) {
    return Effect.fail(new Errors.DqlError({ message: parsed.left.message, line: parsed.left.line, column: parsed.left.column }))
  }
  if (parsedCache.size >= PARSED_CACHE_MAX) parsedCache.delete(parsedCache.keys().next().value ?? "")
  parsedCache.set(statement, parsed.right)
  return Effect.succeed(parsed.right)
}

const checkArgs = (statement: Dql.Ast.Statement, args: Json.JsonObject): Effect.Effect<void, Errors.DqlError> => {
  const checked = Dql.Evaluate.checkArgs(statement, args)
  return Either.isLeft(checked) ? Effect.fail(new Errors.DqlError({ message: checked.left.message })) : Effect.void
}

/** The `_id`s an INSERT names explicitly (documents without one get a fresh id: they are new). */
const insertIds = (insert: Dql.Ast.Insert, args: Json.JsonObject): ReadonlyArray<Json.Json> => {
  const ids: Array<Json.Json> = []
  for (const expr of insert.documents) {
    const value = Dql.Evaluate.evalExpr(expr, {}, args)
    for (const doc of Array.isArray(value) ? value : [value]) {
      if (Json.isObject(doc) && doc._id !== undefined) ids.push(doc._id)
    }
  }
  return ids
}

/** Waits (bounded by `timeout`) until the app's replica has committed transaction `txnId`. */
export const waitForTransaction = (
  tenant: Tenant,
  txnId: number,
  timeout: Duration.DurationInput
): Effect.Effect<void, Errors.InvalidRequest> => {
  const replica = tenant.peer.replica
  return Effect.scoped(Effect.gen(function*() {
    const commits = yield* replica.subscribe // before the check: no commit slips between
    while ((yield* replica.lastSeq) < txnId) yield* Queue.take(commits)
  })).pipe(
    Effect.timeoutFail({
      duration: timeout,
      onTimeout: () =>
        new Errors.InvalidRequest({
          message: `transaction ${txnId} not reached within ${Duration.format(Duration.decode(timeout))} (this server is at ${
            replica.store.lastSeq()
          })`
        })
    })
  )
}

/** A write checked document by document against the caller's write permissions, atomically. */
const guardedWrite = (
  tenant: Tenant,
  statement: string,
  parsed: Dql.Ast.Insert | Dql.Ast.Update | Dql.Ast.Delete,
  args: Json.JsonObject,
  permissions: Permissions.Compiled
) =>
  tenant.peer.transaction((tx) =>
    Effect.gen(function*() {
      const collection = parsed.collection
      const lookup = `SELECT * FROM ${Dql.Printer.printName(collection)} WHERE _id = :id`
      const byId = (id: Json.Json) => Effect.map(tx.execute(lookup, { id }), (r) => r.items[0])
      const before = new Map<string, Json.JsonObject>()
      if (parsed._tag === "Insert") {
        for (const id of insertIds(parsed, args)) {
          const doc = yield* byId(id)
          if (doc !== undefined) before.set(Json.canonical(id), doc)
        }
      } else {
        const select: Dql.Ast.Select = {
          _tag: "Select",
          collection,
          projection: "*",
          orderBy: [],
          ...(parsed.where === undefined ? {} : { where: parsed.where })
        }
        const matched = yield* tx.execute(Dql.Printer.print(select), args)
        for (const doc of matched.items) before.set(Json.canonical(doc._id ?? null), doc)
      }
      const outcome = yield* tx.execute(statement, args)
      const denied: Array<Json.Json> = []
      for (const id of outcome.mutatedDocumentIds) {
        const after = yield* byId(id)
        if (!Permissions.canWrite(permissions, collection, before.get(Json.canonical(id)), after)) denied.push(id)
      }
      if (denied.length > 0) {
        return yield* forbidden(
          `write denied in ${collection} for _id ${denied.slice(0, 5).map((id) => JSON.stringify(id)).join(", ")}${
            denied.length > 5 ? ` and ${denied.length - 5} more` : ""
          }: outside your write permissions (nothing was written)`
        )
      }
      return outcome
    })
  )

/** Runs one statement for a caller. */
export const execute = (
  tenant: Tenant,
  access: Access,
  input: ExecuteInput,
  options: { readonly txnWait: Duration.DurationInput }
): Effect.Effect<Api.QueryResult, QueryFailure> =>
  Effect.gen(function*() {
    const args = input.args ?? {}
    if (input.txnId !== undefined) yield* waitForTransaction(tenant, input.txnId, options.txnWait)
    const parsed = yield* parse(input.statement)
    const permissions = access.permissions
    const peer = tenant.peer
    const run = (statement: string) =>
      Effect.map(
        peer.execute(statement, args),
        (r) => result(r.transactionId, r.queryType, r.items, r.mutatedDocumentIds, r.warnings)
      )
    switch (parsed._tag) {
      case "Select": {
        yield* checkArgs(parsed, args)
        const restricted = restrictSelect(parsed, permissions)
        const transactionId = peer.replica.store.lastSeq()
        if (Option.isNone(restricted)) return result(transactionId, "select", [], [], [])
        const items = yield* peer.replica.read(restricted.value, args)
        return result(transactionId, "select", items, [], [])
      }
      case "Explain": {
        const restricted = restrictSelect(parsed.statement, permissions)
        return yield* run(
          Option.isNone(restricted) ? input.statement : Dql.Printer.print({ _tag: "Explain", statement: restricted.value })
        )
      }
      case "CreateIndex":
      case "DropIndex":
        if (!unrestricted(permissions)) return yield* forbidden("managing indexes needs unrestricted permissions")
        return yield* run(input.statement)
      case "Evict":
        if (!unrestricted(permissions)) return yield* forbidden("EVICT on the Big Peer needs unrestricted permissions")
        return yield* run(input.statement)
      case "Insert":
      case "Update":
      case "Delete": {
        if (permissions.write.everything) return yield* run(input.statement)
        yield* checkArgs(parsed, args)
        const { transactionId, value } = yield* guardedWrite(tenant, input.statement, parsed, args, permissions)
        return result(transactionId, value.queryType, value.items, value.mutatedDocumentIds, value.warnings)
      }
    }
  }).pipe(
    Effect.catchAll((e): Effect.Effect<never, QueryFailure> =>
      e._tag === "DqlError" || e._tag === "InvalidRequest" || e._tag === "Forbidden" ? Effect.fail(e) : toApiError(e)
    ),
    Effect.withSpan("BigPeer.execute", { attributes: { appId: tenant.app.appId }, captureStackTrace: false })
  )

/** The current result of a SELECT, then one per change, limited to what the caller may read. */
export const observe = (
  tenant: Tenant,
  access: Access,
  input: { readonly statement: string; readonly args?: Json.JsonObject | undefined }
): Stream.Stream<Api.QueryResult, Errors.DqlError | Errors.InvalidRequest> =>
  Stream.unwrap(Effect.gen(function*() {
    const args = input.args ?? {}
    const parsed = yield* parse(input.statement)
    if (parsed._tag !== "Select") {
      return yield* new Errors.InvalidRequest({ message: "Observe takes a SELECT statement" })
    }
    yield* checkArgs(parsed, args)
    const store = tenant.peer.replica.store
    const restricted = restrictSelect(parsed, access.permissions)
    if (Option.isNone(restricted)) {
      return Stream.concat(Stream.succeed(result(store.lastSeq(), "select", [], [], [])), Stream.never)
    }
    return tenant.peer.observe(Dql.Printer.print(restricted.value), args).pipe(
      Stream.map((items) => result(store.lastSeq(), "select", items, [], [])),
      Stream.catchAll((e) =>
        Stream.fromEffect(toApiError(e).pipe(
          Effect.catchTag("Forbidden", "DocumentTooLarge", (other) => Effect.die(other))
        ))
      )
    )
  }))

/** The op log from `fromSeq` (inclusive) to the last op committed when the call started. Needs read-everything. */
export const readOpLog = (
  tenant: Tenant,
  access: Access,
  fromSeq: number
): Stream.Stream<Op.Op, Errors.Forbidden> =>
  Stream.unwrap(Effect.gen(function*() {
    if (!access.permissions.read.everything) {
      return yield* forbidden("reading the op log needs permission to read everything")
    }
    const store = tenant.peer.replica.store
    const end = store.lastSeq()
    return Stream.paginateChunkEffect(Math.max(0, fromSeq - 1), (after) =>
      Effect.map(store.readOps(after, 256), (ops) => {
        const page = ops.filter((op) => op.seq <= end)
        const last = page[page.length - 1]
        const done = last === undefined || last.seq >= end || page.length < ops.length || ops.length < 256
        return [Chunk.fromIterable(page), done || last === undefined ? Option.none() : Option.some(last.seq)] as const
      })).pipe(Stream.orDie)
  }))
