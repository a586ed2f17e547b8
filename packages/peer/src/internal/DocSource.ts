/**
 * Where statements read documents from: the store, or (inside the Replica
 * actor) the store seen through the writes of the batch being built.
 */
import type { Dql, Json } from "@shoal/core"
import { Dql as DqlModule } from "@shoal/core"
import type { DocRecord, ReplicaStoreShape, StoreError } from "@shoal/store-sqlite"
import * as Effect from "effect/Effect"

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
  const pushed = where === undefined ? undefined : DqlModule.Sql.toSql(DqlModule.Sql.split(where, args).pushed ?? TRUE, args, "visible_json")
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

/**
 * The store overlaid with uncommitted records (`null` = evicted): reads inside
 * a transaction see the transaction's own writes.
 */
export const overlay = (base: DocSource, pending: ReadonlyMap<string, DocRecord | null>): DocSource => ({
  get: (collection, id) => {
    const hit = pending.size === 0 ? undefined : pending.get(docKey(collection, id))
    return hit !== undefined ? Effect.succeed(hit ?? undefined) : base.get(collection, id)
  },
  lookup: (collection, id) => {
    const hit = pending.size === 0 ? undefined : pending.get(docKey(collection, id))
    return hit !== undefined ? hit ?? undefined : base.lookup(collection, id)
  },
  candidates: (collection, where, args) =>
    Effect.map(base.candidates(collection, where, args), (docs) => {
      if (pending.size === 0) return docs
      const out = new Map<string, Json.JsonObject>()
      for (const d of docs) out.set(idKey(d), d)
      for (const [key, rec] of pending) {
        if (!key.startsWith(collection + "\u0000")) continue
        const id = key.slice(collection.length + 1)
        if (rec === null || rec.visible === undefined) out.delete(id)
        else out.set(id, rec.visible)
      }
      return [...out.values()]
    })
})

export const docKey = (collection: string, id: string) => `${collection}\u0000${id}`

export const splitKey = (key: string): readonly [string, string] => {
  const at = key.indexOf("\u0000")
  return [key.slice(0, at), key.slice(at + 1)]
}

/** Canonical id string of a visible document (its `_id`). */
export const idKey = (doc: Json.JsonObject): string => canonicalId(doc._id ?? null)

import { Json as JsonModule } from "@shoal/core"
export const canonicalId = (id: Json.Json): string => JsonModule.canonical(id)

/** `_id = <literal or :arg>` (possibly AND-ed with more): the canonical id to look up directly. */
export const pointId = (where: Dql.Ast.Expr | undefined, args: Json.JsonObject): string | undefined => {
  if (where === undefined) return undefined
  for (const c of DqlModule.Ast.conjuncts(where)) {
    if (c._tag !== "Compare" || c.op !== "=") continue
    const [field, value] = c.left._tag === "Field" ? [c.left, c.right] : [c.right, c.left]
    if (field._tag !== "Field" || field.path.length !== 1 || field.path[0] !== "_id") continue
    if (value._tag === "Literal") return canonicalId(value.value)
    if (value._tag === "Arg" && args[value.name] !== undefined) return canonicalId(args[value.name]!)
  }
  return undefined
}
