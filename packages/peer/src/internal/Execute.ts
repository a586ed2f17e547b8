/**
 * Running parsed DQL statements against a DocSource. Reads are plain
 * functions of the source; writes go through a `Writer` the Replica actor
 * provides (it owns stamps, the pending overlay and the op being built).
 */
import { Document, Dql, Json, type Op, type SiteId, type Stamp } from "@shoal/core"
import { type DocRecord, DocumentTooLarge, StoreError } from "@shoal/store-sqlite"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Random from "effect/Random"
import { DocumentExists, InvalidStatement } from "../Errors.js"
import { type DocSource, pointId } from "./DocSource.js"

export type QueryType = "select" | "insert" | "update" | "delete" | "unknown"

export interface StatementResult {
  readonly queryType: QueryType
  readonly items: ReadonlyArray<Json.JsonObject>
  readonly mutatedDocumentIds: ReadonlyArray<Json.Json>
  readonly warnings: ReadonlyArray<string>
}

export type ExecuteError =
  | Dql.DqlSyntaxError
  | Dql.DqlArgumentError
  | DocumentExists
  | InvalidStatement
  | DocumentTooLarge
  | StoreError

const argError = (e: Dql.DqlArgumentError) => Effect.fail(e)

export const checkArgs = (statement: Dql.Ast.Statement, args: Json.JsonObject) => {
  const checked = Dql.Evaluate.checkArgs(statement, args)
  return Either.isLeft(checked) ? argError(checked.left) : Effect.void
}

const count = (c: Dql.Ast.Count | undefined, args: Json.JsonObject): number | undefined => {
  if (c === undefined) return undefined
  if (typeof c === "number") return c
  const v = args[c.name]
  return typeof v === "number" ? v : undefined
}

/** Matching visible documents, sorted and paged, before projection. */
export const matching = (
  source: DocSource,
  collection: string,
  where: Dql.Ast.Expr | undefined,
  args: Json.JsonObject
) =>
  Effect.map(source.candidates(collection, where, args), (docs) =>
    where === undefined ? docs : docs.filter((d) => Dql.Evaluate.matches(where, d, args)))

export const select = (source: DocSource, s: Dql.Ast.Select, args: Json.JsonObject) =>
  Effect.map(matching(source, s.collection, s.where, args), (docs) => {
    const page = Dql.Evaluate.sortPage(docs, s.orderBy, count(s.limit, args), count(s.offset, args), args)
    return s.projection === "*" ? page : page.map((d) => Dql.Evaluate.project(s.projection, d, args))
  })

export interface Writer {
  readonly source: DocSource
  readonly site: SiteId.SiteId
  /** A fresh stamp; every statement takes its own so that writes never tie. */
  readonly stamp: () => Stamp.Stamp
  /**
   * Fold a change into the pending state (size-checked) and record it in the
   * op. A plain call that throws `DocumentTooLarge`: run it inside `hot`.
   */
  readonly applySync: (change: Op.Change | Op.Put, existing: DocRecord | undefined, claimed?: boolean) => DocRecord
  readonly evict: (collection: string, id: string) => void
  /**
   * `source.lookup` for a document about to be written: `NEW` when the file
   * does not have it (its key is claimed, see `ReplicaStore.claimKey`; pass
   * `claimed` to `applySync`). A plain call that throws `StoreError`.
   */
  readonly lookupForWrite: (collection: string, id: string) => DocRecord | undefined | typeof NEW
}

/** See `Writer.lookupForWrite`. */
export const NEW: unique symbol = Symbol("new document")

const newId = Effect.map(
  Effect.all([Random.nextIntBetween(0, 0x7fffffff), Random.nextIntBetween(0, 0x7fffffff)]),
  ([a, b]) => Date.now().toString(16).padStart(12, "0") + a.toString(16).padStart(8, "0") + b.toString(16).padStart(8, "0")
)

/** The documents an INSERT names (an array argument inserts each element: `DOCUMENTS (:docs)`). */
const documentsOf = (insert: Dql.Ast.Insert, args: Json.JsonObject): Either.Either<Array<Json.JsonObject>, InvalidStatement> => {
  const docs: Array<Json.JsonObject> = []
  for (const expr of insert.documents) {
    const value = Dql.Evaluate.evalExpr(expr, {}, args)
    const values = Array.isArray(value) ? value : [value]
    for (const v of values) {
      if (!Json.isObject(v)) {
        return Either.left(new InvalidStatement({ message: `INSERT expects documents (objects), got ${JSON.stringify(v ?? null)}` }))
      }
      docs.push(v)
    }
  }
  return Either.right(docs)
}

/**
 * Run a synchronous loop over many documents as one effect: the typed errors
 * it throws become failures, anything else a defect. Per-document effects
 * cost more than the work itself on bulk INSERTs.
 */
export const hot = <A>(f: () => A): Effect.Effect<A, DocumentExists | DocumentTooLarge | StoreError | InvalidStatement> =>
  Effect.suspend(() => {
    try {
      return Effect.succeed(f())
    } catch (e) {
      if (e instanceof DocumentExists || e instanceof DocumentTooLarge || e instanceof StoreError || e instanceof InvalidStatement) {
        return Effect.fail(e)
      }
      return Effect.die(e)
    }
  })

/** Documents without an `_id` get a fresh one (an effect: ids use Effect's Random). */
const withIds = (inputs: Array<Json.JsonObject>): Effect.Effect<Array<Json.JsonObject>> =>
  inputs.every((input) => input._id !== undefined)
    ? Effect.succeed(inputs)
    : Effect.forEach(inputs, (input) => input._id === undefined ? Effect.map(newId, (_id) => ({ _id, ...input })) : Effect.succeed(input))

// No generator: this runs for every INSERT (a sequential single insert is a
// few tens of µs of which every effect step is a visible part).
const insert = (w: Writer, s: Dql.Ast.Insert, args: Json.JsonObject) =>
  Either.match(documentsOf(s, args), {
    onLeft: (e) => Effect.fail(e),
    onRight: (inputs) => Effect.flatMap(withIds(inputs), (docs) => insertDocuments(w, s, docs))
  })

const insertDocuments = (w: Writer, s: Dql.Ast.Insert, docs: ReadonlyArray<Json.JsonObject>) =>
  Effect.suspend(() => {
    const stamp = w.stamp()
    return Effect.map(hot(() => {
      const ids: Array<Json.Json> = []
      for (const doc of docs) {
        const _id = doc._id ?? null
        const id = Json.idOfDocument(doc)
        const found = w.lookupForWrite(s.collection, id)
        const existing = found === NEW ? undefined : found
        if (existing?.visible !== undefined) {
          if (s.onConflict === "DO NOTHING") continue
          if (s.onConflict === "FAIL") throw new DocumentExists({ collection: s.collection, id })
        }
        w.applySync({ collection: s.collection, id, put: doc, stamp }, existing, found === NEW)
        ids.push(_id)
      }
      return ids
    }), (ids): StatementResult => ({ queryType: "insert", items: [], mutatedDocumentIds: ids, warnings: [] }))
  })

const touchesId = (path: Dql.Ast.Path) => path.length > 0 && path[0] === "_id"

/** A write naming `Json.RESERVED_FIELD`, refused up front. */
export const reservedFieldError = () => new InvalidStatement({ message: Json.RESERVED_FIELD_MESSAGE })

const update = (w: Writer, s: Dql.Ast.Update, args: Json.JsonObject) =>
  Effect.gen(function*() {
    const paths = [...s.set.map((a) => a.path), ...s.unset, ...s.apply.map((a) => a.path)]
    if (paths.some(touchesId)) {
      return yield* new InvalidStatement({ message: "_id cannot be changed by UPDATE" })
    }
    if (paths.some((p) => p.includes(Json.RESERVED_FIELD))) return yield* reservedFieldError()
    const docs = yield* matching(w.source, s.collection, s.where, args)
    const stamp = w.stamp()
    const ids: Array<Json.Json> = []
    for (const doc of docs) {
      const id = Json.idOfDocument(doc)
      const record = yield* w.source.get(s.collection, id)
      if (record === undefined) continue
      let state = record.state
      let delta = Document.empty()
      const step = (d: Document.DocState) => {
        state = Document.merge(state, d)
        delta = Document.merge(delta, d)
      }
      // Right-hand sides see the document as it was before this UPDATE.
      for (const a of s.set) {
        const value = Dql.Evaluate.evalExpr(a.expr, doc, args)
        step(value === undefined ? Document.unset(state, a.path, stamp) : Document.set(state, a.path, value, stamp))
      }
      for (const p of s.unset) step(Document.unset(state, p, stamp))
      for (const a of s.apply) {
        const by = Dql.Evaluate.evalExpr(a.by, doc, args)
        if (typeof by !== "number") {
          return yield* new InvalidStatement({ message: `PN_INCREMENT BY expects a number, got ${JSON.stringify(by ?? null)}` })
        }
        step(Document.increment(state, a.path, by, w.site, stamp))
      }
      yield* hot(() => w.applySync({ collection: s.collection, id, delta }, record))
      ids.push(doc._id ?? null)
    }
    return { queryType: "update" as const, items: [], mutatedDocumentIds: ids, warnings: [] }
  })

const remove = (w: Writer, s: Dql.Ast.Delete, args: Json.JsonObject) =>
  Effect.gen(function*() {
    const docs = yield* matching(w.source, s.collection, s.where, args)
    const stamp = w.stamp()
    const ids: Array<Json.Json> = []
    for (const doc of docs) {
      const id = Json.idOfDocument(doc)
      yield* hot(() => w.applySync({ collection: s.collection, id, delta: Document.remove(stamp) }, w.source.lookup(s.collection, id)))
      ids.push(doc._id ?? null)
    }
    return { queryType: "delete" as const, items: [], mutatedDocumentIds: ids, warnings: [] }
  })

const evict = (w: Writer, s: Dql.Ast.Evict, args: Json.JsonObject) =>
  Effect.gen(function*() {
    const docs = yield* matching(w.source, s.collection, s.where, args)
    const ids: Array<Json.Json> = []
    for (const doc of docs) {
      w.evict(s.collection, Json.idOfDocument(doc))
      ids.push(doc._id ?? null)
    }
    return { queryType: "unknown" as const, items: [], mutatedDocumentIds: ids, warnings: [] }
  })

/** A statement that changes documents (runs inside the Replica actor). */
export const write = (
  w: Writer,
  statement: Dql.Ast.Insert | Dql.Ast.Update | Dql.Ast.Delete | Dql.Ast.Evict,
  args: Json.JsonObject
): Effect.Effect<StatementResult, ExecuteError> => {
  switch (statement._tag) {
    case "Insert":
      return insert(w, statement, args)
    case "Update":
      return update(w, statement, args)
    case "Delete":
      return remove(w, statement, args)
    case "Evict":
      return evict(w, statement, args)
  }
}

export const isWrite = (
  s: Dql.Ast.Statement
): s is Dql.Ast.Insert | Dql.Ast.Update | Dql.Ast.Delete | Dql.Ast.Evict =>
  s._tag === "Insert" || s._tag === "Update" || s._tag === "Delete" || s._tag === "Evict"

/**
 * `SELECT … WHERE _id = <value> [AND …]` answered straight from the store,
 * without effects: the point-read path. `undefined` when the query is not one.
 */
export const pointRead = (
  store: { readonly getVisibleJson: (collection: string, id: string) => string | undefined },
  s: Dql.Ast.Select,
  args: Json.JsonObject
): ReadonlyArray<Json.JsonObject> | undefined => {
  const id = pointId(s.where, args)
  if (id === undefined) return undefined
  const json = store.getVisibleJson(s.collection, id)
  if (json === undefined) return []
  const doc: Json.JsonObject = JSON.parse(json)
  if (s.where !== undefined && !Dql.Evaluate.matches(s.where, doc, args)) return []
  const page = s.offset !== undefined && count(s.offset, args) !== 0 ? [] : s.limit !== undefined && count(s.limit, args) === 0 ? [] : [doc]
  return s.projection === "*" ? page : page.map((d) => Dql.Evaluate.project(s.projection, d, args))
}
