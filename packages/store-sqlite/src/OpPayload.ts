/**
 * How an op's changes are written in the `ops.payload` column.
 *
 * A JSON array of changes, except that a run of whole documents written at
 * one stamp into one collection (a bulk INSERT, a batch received whole) is a
 * group `{"c": collection, "s": stamp, "p": [doc, …]}`: each document's id is
 * its `_id` (canonical JSON), so neither it nor the collection and stamp are
 * repeated, and each document's JSON — already serialized for its `docs` row —
 * is reused rather than serialized again. Decoding expands groups back into
 * `Put` changes, so the `Op` a reader gets is the same either way.
 */
import { Json, type Op } from "@shoal/core"

type Change = Op.Op["changes"][number]

const groupable = (c: Change): c is Op.Put => "put" in c && Json.idOfDocument(c.put) === c.id

/**
 * `json[i]`, when given, is the JSON text already produced for change i's
 * document (its docs row): it is written as is instead of serialized again.
 */
export const encode = (changes: ReadonlyArray<Change>, json?: ReadonlyArray<string | undefined>): string => {
  const parts: Array<string> = []
  let i = 0
  while (i < changes.length) {
    const c = changes[i]!
    if (!groupable(c)) {
      parts.push(JSON.stringify(c))
      i++
      continue
    }
    const docs: Array<string> = []
    let j = i
    for (; j < changes.length; j++) {
      const d = changes[j]!
      if (!groupable(d) || d.collection !== c.collection || d.stamp !== c.stamp) break
      docs.push(json?.[j] ?? JSON.stringify(d.put))
    }
    parts.push(`{"c":${JSON.stringify(c.collection)},"s":${JSON.stringify(c.stamp)},"p":[${docs.join(",")}]}`)
    i = j
  }
  return `[${parts.join(",")}]`
}

const isGroup = (u: unknown): u is { readonly c: unknown; readonly s: unknown; readonly p: unknown } =>
  typeof u === "object" && u !== null && "p" in u && "c" in u && "s" in u

/** The stored JSON back into a list of change objects (validated afterwards by the caller). */
export const decode = (payload: string): Array<unknown> => {
  const raw: unknown = JSON.parse(payload)
  if (!Array.isArray(raw)) throw new Error("op payload is not an array")
  const out: Array<unknown> = []
  for (const item of raw) {
    if (!isGroup(item)) {
      out.push(item)
      continue
    }
    if (!Array.isArray(item.p)) throw new Error("op payload group without documents")
    for (const doc of item.p) {
      const put: Json.Json = doc
      if (!Json.isObject(put)) throw new Error("op payload group holds a non-object")
      out.push({ collection: item.c, id: Json.idOfDocument(put), put, stamp: item.s })
    }
  }
  return out
}

/** Collections and number of changes, for tools (never throws). */
export const summary = (payload: string): { readonly collections: ReadonlyArray<string>; readonly changes: number } | undefined => {
  try {
    const changes = decode(payload)
    const names = new Set<string>()
    for (const c of changes) {
      if (typeof c === "object" && c !== null && "collection" in c && typeof c.collection === "string") names.add(c.collection)
    }
    return { collections: [...names], changes: changes.length }
  } catch {
    return undefined
  }
}
