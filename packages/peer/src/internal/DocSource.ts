/**
 * Where statements read documents from: the store, or (inside the Replica
 * actor) the store seen through the writes of the batch being built.
 */
import { Dql, Json } from "@shoal/core"
import type { DocRecord, ReplicaStoreShape, StoreError } from "@shoal/store-sqlite"
import * as Effect from "effect/Effect"
import { DocMap } from "./DocMap.js"

export interface DocSource {
  readonly get: (collection: string, id: string) => Effect.Effect<DocRecord | undefined, StoreError>
  /** `get` for hot loops: a plain call that throws `StoreError`. */
  readonly lookup: (collection: string, id: string) => DocRecord | undefined
  /** Visible documents of `collection` that may match `where` (a superset: callers re-check in TS). */
  readonly candidates: (
    collection: string,
    where: Dql.Ast.Expr | undefined,
    args: Json.JsonObject
  ) => Effect.Effect<ReadonlyArray<Json.JsonObject>, StoreError>
}

/** Split `where` into what SQLite can evaluate and query the store with it. */
export const storeCandidates = (
  store: ReplicaStoreShape,
  collection: string,
  where: Dql.Ast.Expr | undefined,
  args: Json.JsonObject
): Effect.Effect<ReadonlyArray<Json.JsonObject>, StoreError> => {
  const id = pointId(where, args)
  if (id !== undefined) {
    return Effect.sync(() => {
      const json = store.getVisibleJson(collection, id)
      return json === undefined ? [] : [JSON.parse(json)]
    })
  }
  const pushed = where === undefined ? undefined : Dql.Sql.toSql(Dql.Sql.split(where, args).pushed ?? TRUE, args, "visible_json")
  return store.selectVisible({ collection, where: pushed }).pipe(
    Effect.map((rows) => rows.map((row): Json.JsonObject => JSON.parse(row)))
  )
}

const TRUE: Dql.Ast.Expr = { _tag: "Literal", value: true }

export const fromStore = (store: ReplicaStoreShape): DocSource => ({
  get: (collection, id) => store.getDoc(collection, id),
  lookup: store.lookupDoc,
  candidates: (collection, where, args) => storeCandidates(store, collection, where, args)
})

/** One string per document, for sets and maps of documents across collections. */
export const docKey = (collection: string, id: string) => `${collection}\u0000${id}`

/** Whether a `docKey` belongs to `collection`. */
export const inCollection = (key: string, collection: string) => key.startsWith(`${collection}\u0000`)

/** Uncommitted document records (`null` = evicted). */
export class PendingDocs extends DocMap<DocRecord | null> {}

/**
 * The store overlaid with uncommitted records (`null` = evicted): reads inside
 * a transaction see the transaction's own writes.
 */
export const overlay = (base: DocSource, pending: PendingDocs): DocSource => ({
  get: (collection, id) => {
    const hit = pending.get(collection, id)
    return hit !== undefined ? Effect.succeed(hit ?? undefined) : base.get(collection, id)
  },
  lookup: (collection, id) => {
    const hit = pending.get(collection, id)
    return hit !== undefined ? hit ?? undefined : base.lookup(collection, id)
  },
  candidates: (collection, where, args) =>
    Effect.map(base.candidates(collection, where, args), (docs) => {
      const mine = pending.inCollection(collection)
      if (mine.size === 0) return docs
      const out = new Map<string, Json.JsonObject>()
      for (const d of docs) out.set(Json.idOfDocument(d), d)
      for (const [id, rec] of mine) {
        if (rec === null || rec.visible === undefined) out.delete(id)
        else out.set(id, rec.visible)
      }
      return [...out.values()]
    })
})

/** `_id = <literal or :arg>` (possibly AND-ed with more): the canonical id to look up directly. */
export const pointId = (where: Dql.Ast.Expr | undefined, args: Json.JsonObject): string | undefined => {
  if (where === undefined) return undefined
  for (const c of Dql.Ast.conjuncts(where)) {
    if (c._tag !== "Compare" || c.op !== "=") continue
    const [field, value] = c.left._tag === "Field" ? [c.left, c.right] : [c.right, c.left]
    if (field._tag !== "Field" || field.path.length !== 1 || field.path[0] !== "_id") continue
    if (value._tag === "Literal") return Json.canonical(value.value)
    if (value._tag === "Arg" && args[value.name] !== undefined) return Json.canonical(args[value.name]!)
  }
  return undefined
}
