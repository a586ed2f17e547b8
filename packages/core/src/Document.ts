/**
 * The document CRDT (delta-state).
 *
 * A document is a tree of maps. Every key of a map holds a *slot* with up to
 * three candidates, one per kind of value: a register (`r`, last writer wins
 * by stamp; a register without `v` is an UNSET tombstone), a nested map (`m`)
 * and a PN counter (`c`). Each kind is its own join-semilattice and a slot
 * merges kind by kind, so merge is a product of lattices: commutative,
 * associative and idempotent by construction. Which candidate a reader sees
 * is decided only when materializing: the one with the highest *recency*.
 *
 * Maps carry a birth stamp `b`: writing an object at a path (INSERT, SET with
 * an object) replaces the whole object, so anything below it stamped earlier
 * than the birth is hidden. The document tombstone is the root map's birth:
 * removing a document hides everything written before the removal, and a
 * field written after it brings the document back.
 *
 * Counters keep one running sum per site, tagged with the reset epoch it was
 * counted under; the value is the sum of the entries of the current epoch.
 * Concurrent increments all count; an increment concurrent with a reset is
 * dropped by the reset (reset wins).
 *
 * States and deltas share one shape: a delta is a state holding only the
 * entries the receiver has not seen (see `delta`).
 */
import * as Schema from "effect/Schema"
import { canonical, isObject, type Json, type JsonObject, setField } from "./Json.js"
import { Json as JsonSchema } from "./Json.js"
import type { Stamp } from "./Stamp.js"
import { Stamp as StampSchema } from "./Stamp.js"
import * as VersionVector from "./VersionVector.js"

export interface Register {
  readonly s: Stamp
  readonly v?: Json
}

/** [running sum of this site, stamp of its latest increment, reset epoch it counted under ("" = none)] */
export type CounterEntry = readonly [number, Stamp, Stamp | ""]

export interface Counter {
  readonly z?: Stamp
  readonly e: { readonly [site: string]: CounterEntry }
}

export interface MapNode {
  readonly b?: Stamp
  readonly f: { readonly [key: string]: Slot }
}

export interface Slot {
  readonly r?: Register
  readonly m?: MapNode
  readonly c?: Counter
}

/** A document state, or a delta of one. */
export type DocState = MapNode

// ------------------------------------------------------------------ schema

export const RegisterSchema = Schema.Struct({ s: StampSchema, v: Schema.optionalWith(JsonSchema, { exact: true }) })
export const CounterSchema = Schema.Struct({
  z: Schema.optionalWith(StampSchema, { exact: true }),
  e: Schema.Record({
    key: Schema.String,
    value: Schema.Tuple(Schema.Number, StampSchema, Schema.Union(StampSchema, Schema.Literal("")))
  })
})
interface SlotEncoded {
  readonly r?: typeof RegisterSchema.Encoded
  readonly m?: MapNodeEncoded
  readonly c?: typeof CounterSchema.Encoded
}
interface MapNodeEncoded {
  readonly b?: string
  readonly f: { readonly [key: string]: SlotEncoded }
}
export const SlotSchema: Schema.Schema<Slot, SlotEncoded> = Schema.Struct({
  r: Schema.optionalWith(RegisterSchema, { exact: true }),
  m: Schema.optionalWith(Schema.suspend((): Schema.Schema<MapNode, MapNodeEncoded> => MapNodeSchema), { exact: true }),
  c: Schema.optionalWith(CounterSchema, { exact: true })
})
export const MapNodeSchema: Schema.Schema<MapNode, MapNodeEncoded> = Schema.Struct({
  b: Schema.optionalWith(StampSchema, { exact: true }),
  f: Schema.Record({ key: Schema.String, value: Schema.suspend(() => SlotSchema) })
})
/** Schema of a document state or delta (disk and wire). */
export const DocStateSchema = MapNodeSchema

// ------------------------------------------------------------------ merge

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

export const empty = (): DocState => ({ f: {} })

// Stamps are unique per write, so ties only come from the same write seen
// twice; the value tie-break keeps merge commutative even if they differ.
const mergeRegister = (a: Register | undefined, b: Register | undefined): Register | undefined => {
  if (a === undefined) return b
  if (b === undefined) return a
  if (b.s !== a.s) return b.s > a.s ? b : a
  return tieKey(b.v) > tieKey(a.v) ? b : a
}

const tieKey = (v: Json | undefined): string => (v === undefined ? "" : "v" + canonical(v))

const mergeCounter = (a: Counter | undefined, b: Counter | undefined): Counter | undefined => {
  if (a === undefined) return b
  if (b === undefined) return a
  const e: { [site: string]: CounterEntry } = { ...a.e }
  for (const site in b.e) {
    const mine = e[site]
    const theirs = b.e[site]!
    if (
      mine === undefined || theirs[1] > mine[1] ||
      (theirs[1] === mine[1] && (theirs[0] > mine[0] || (theirs[0] === mine[0] && theirs[2] > mine[2])))
    ) e[site] = theirs
  }
  const z = a.z === undefined ? b.z : b.z === undefined ? a.z : a.z > b.z ? a.z : b.z
  return z === undefined ? { e } : { z, e }
}

const mergeSlot = (a: Slot | undefined, b: Slot): Slot => {
  if (a === undefined) return b
  const out: Mutable<Slot> = {}
  const r = mergeRegister(a.r, b.r)
  if (r !== undefined) out.r = r
  const m = a.m === undefined ? b.m : b.m === undefined ? a.m : merge(a.m, b.m)
  if (m !== undefined) out.m = m
  const c = mergeCounter(a.c, b.c)
  if (c !== undefined) out.c = c
  return out
}

/** Join of two states (or a state and a delta). Pure; shares unchanged subtrees. */
export const merge = (a: DocState, b: DocState): DocState => {
  const f: { [key: string]: Slot } = { ...a.f }
  for (const key in b.f) setField(f, key, mergeSlot(Object.hasOwn(f, key) ? f[key] : undefined, b.f[key]!))
  const birth = a.b === undefined ? b.b : b.b === undefined ? a.b : a.b > b.b ? a.b : b.b
  return birth === undefined ? { f } : { b: birth, f }
}

// ------------------------------------------------------------------ delta

const deltaCounter = (c: Counter, vv: VersionVector.VersionVector): Counter | undefined => {
  let e: { [site: string]: CounterEntry } | undefined
  for (const site in c.e) {
    const entry = c.e[site]!
    if (VersionVector.isNew(vv, entry[1])) (e ??= {})[site] = entry
  }
  const z = c.z !== undefined && VersionVector.isNew(vv, c.z) ? c.z : undefined
  if (e === undefined && z === undefined) return undefined
  return z === undefined ? { e: e ?? {} } : { z, e: e ?? {} }
}

const deltaSlot = (slot: Slot, vv: VersionVector.VersionVector): Slot | undefined => {
  let out: Mutable<Slot> | undefined
  if (slot.r !== undefined && VersionVector.isNew(vv, slot.r.s)) (out ??= {}).r = slot.r
  if (slot.m !== undefined) {
    const m = delta(slot.m, vv)
    if (m !== undefined) (out ??= {}).m = m
  }
  if (slot.c !== undefined) {
    const c = deltaCounter(slot.c, vv)
    if (c !== undefined) (out ??= {}).c = c
  }
  return out
}

/**
 * Everything in `state` a replica at `vv` has not seen, or `undefined` when
 * it has seen it all. Merging the result into a replica at `vv` gives the
 * same state as merging the whole of `state`.
 */
export const delta = (state: DocState, vv: VersionVector.VersionVector): DocState | undefined => {
  let f: { [key: string]: Slot } | undefined
  for (const key in state.f) {
    const d = deltaSlot(state.f[key]!, vv)
    if (d !== undefined) (f ??= {})[key] = d
  }
  const b = state.b !== undefined && VersionVector.isNew(vv, state.b) ? state.b : undefined
  if (f === undefined && b === undefined) return undefined
  return b === undefined ? { f: f ?? {} } : { b, f: f ?? {} }
}

// ------------------------------------------------------------------ version vector

const visitStamps = (node: MapNode, visit: (s: Stamp) => void): void => {
  if (node.b !== undefined) visit(node.b)
  for (const key in node.f) {
    const slot = node.f[key]!
    if (slot.r !== undefined) visit(slot.r.s)
    if (slot.m !== undefined) visitStamps(slot.m, visit)
    if (slot.c !== undefined) {
      if (slot.c.z !== undefined) visit(slot.c.z)
      for (const site in slot.c.e) visit(slot.c.e[site]![1])
    }
  }
}

/** The version vector a state (or delta) covers. */
export const versionVector = (state: DocState): VersionVector.VersionVector => {
  const vv: { [site: string]: VersionVector.VersionVector[string] } = {}
  visitStamps(state, (s) => VersionVector.addStamp(vv, s))
  return vv
}

/** Highest stamp anywhere in the state ("" when empty). */
export const maxStamp = (state: DocState): Stamp | "" => {
  let top: Stamp | "" = ""
  visitStamps(state, (s) => {
    if (s > top) top = s
  })
  return top
}

// ------------------------------------------------------------------ materialize

const counterRecency = (c: Counter): Stamp | "" => {
  let top: Stamp | "" = c.z ?? ""
  for (const site in c.e) {
    const s = c.e[site]![1]
    if (s > top) top = s
  }
  return top
}

const mapRecency = (m: MapNode): Stamp | "" => {
  let top: Stamp | "" = m.b ?? ""
  for (const key in m.f) {
    const r = slotRecency(m.f[key]!)
    if (r > top) top = r
  }
  return top
}

const slotRecency = (slot: Slot): Stamp | "" => {
  let top: Stamp | "" = slot.r?.s ?? ""
  if (slot.m !== undefined) {
    const r = mapRecency(slot.m)
    if (r > top) top = r
  }
  if (slot.c !== undefined) {
    const r = counterRecency(slot.c)
    if (r > top) top = r
  }
  return top
}

type Winner = "r" | "m" | "c" | undefined

/** The candidate a reader sees: highest recency; ties go counter > map > register. */
const winner = (slot: Slot, floor: Stamp | ""): Winner => {
  let best: Winner
  let bestAt: Stamp | "" = ""
  const consider = (kind: Winner, at: Stamp | "") => {
    if (at >= floor && at !== "" && (best === undefined || at >= bestAt)) {
      best = kind
      bestAt = at
    }
  }
  if (slot.r !== undefined) consider("r", slot.r.s)
  if (slot.m !== undefined) consider("m", mapRecency(slot.m))
  if (slot.c !== undefined) consider("c", counterRecency(slot.c))
  return best
}

const counterValue = (c: Counter, floor: Stamp | ""): number => {
  const epoch = c.z ?? ""
  let sum = 0
  for (const site in c.e) {
    const [n, s, e] = c.e[site]!
    if (e === epoch && s >= floor) sum += n
  }
  return sum
}

const materializeSlot = (slot: Slot, floor: Stamp | ""): Json | undefined => {
  switch (winner(slot, floor)) {
    case "r":
      return slot.r!.v
    case "m":
      return materializeMap(slot.m!, floor)
    case "c":
      return counterValue(slot.c!, floor)
    default:
      return undefined
  }
}

const materializeMap = (m: MapNode, floor: Stamp | ""): JsonObject => {
  const inner = m.b !== undefined && m.b > floor ? m.b : floor
  const out: { [key: string]: Json } = {}
  for (const key in m.f) {
    const v = materializeSlot(m.f[key]!, inner)
    if (v !== undefined) setField(out, key, v)
  }
  return out
}

/**
 * The plain JSON a reader sees, with `_id` set to `id`; `undefined` when the
 * document is removed (nothing written after its tombstone) or was never written.
 */
export const materialize = (state: DocState, id: Json): JsonObject | undefined => {
  const obj = materializeMap(state, "")
  for (const _ in obj) return { ...obj, _id: id }
  return undefined
}

/** Whether a reader sees the document at all. */
export const isVisible = (state: DocState): boolean => materialize(state, null) !== undefined

// ------------------------------------------------------------------ local writes

/**
 * Local writes return a *delta*: the caller merges it into the state (and
 * appends it to the op log). Deltas from local writes carry only what the
 * write changed, so op-log entries stay small.
 */

const valueNode = (value: Json, stamp: Stamp): Slot =>
  isObject(value)
    ? { m: { b: stamp, f: Object.fromEntries(Object.entries(value).map(([k, v]) => [k, valueNode(v, stamp)])) } }
    : { r: { s: stamp, v: value } }

/** Wrap `leaf` in maps along `path`; intermediate maps that a reader does not see are born at `stamp`. */
const atPath = (state: DocState, path: ReadonlyArray<string>, leaf: Slot, stamp: Stamp): DocState => {
  const build = (node: MapNode | undefined, i: number, floor: Stamp | ""): MapNode => {
    const key = path[i]!
    if (i === path.length - 1) return { f: { [key]: leaf } }
    const slot = node?.f[key]
    const inner = node?.b !== undefined && node.b > floor ? node.b : floor
    const live = slot !== undefined && winner(slot, inner) === "m" ? slot.m : undefined
    const child = build(live, i + 1, inner)
    return { f: { [key]: { m: live === undefined ? { b: stamp, f: child.f } : child } } }
  }
  return build(state, 0, "")
}

/** SET path = value (objects replace the whole subtree: strict mode). */
export const set = (state: DocState, path: ReadonlyArray<string>, value: Json, stamp: Stamp): DocState =>
  atPath(state, path, valueNode(value, stamp), stamp)

/** UNSET path: a register tombstone. */
export const unset = (state: DocState, path: ReadonlyArray<string>, stamp: Stamp): DocState =>
  atPath(state, path, { r: { s: stamp } }, stamp)

/** The value a reader currently sees at `path`. */
export const readPath = (state: DocState, path: ReadonlyArray<string>): Json | undefined => {
  let v: Json | undefined = materializeMap(state, "")
  for (const key of path) {
    if (!isObject(v)) return undefined
    v = v[key]
  }
  return v
}

const liveSlot = (state: DocState, path: ReadonlyArray<string>): { slot: Slot | undefined; floor: Stamp | "" } => {
  let node: MapNode | undefined = state
  let floor: Stamp | "" = ""
  for (let i = 0; i < path.length; i++) {
    if (node === undefined) return { slot: undefined, floor }
    if (node.b !== undefined && node.b > floor) floor = node.b
    const slot: Slot | undefined = node.f[path[i]!]
    if (i === path.length - 1) return { slot, floor }
    node = slot !== undefined && winner(slot, floor) === "m" ? slot.m : undefined
  }
  return { slot: undefined, floor }
}

/**
 * APPLY path PN_INCREMENT BY n. Creates a missing counter; a counter over a
 * numeric register starts from that number (a reset at this stamp).
 */
export const increment = (
  state: DocState,
  path: ReadonlyArray<string>,
  by: number,
  site: string,
  stamp: Stamp
): DocState => {
  const { floor, slot } = liveSlot(state, path)
  const kind = slot === undefined ? undefined : winner(slot, floor)
  let counter: Counter
  if (kind === "c") {
    const c = slot!.c!
    const epoch = c.z ?? ""
    const mine = c.e[site]
    const base = mine !== undefined && mine[2] === epoch && mine[1] >= floor ? mine[0] : 0
    counter = c.z === undefined ? { e: { [site]: [base + by, stamp, epoch] } } : { z: c.z, e: { [site]: [base + by, stamp, epoch] } }
  } else if (kind === "r" && typeof slot!.r!.v === "number") {
    counter = { z: stamp, e: { [site]: [slot!.r!.v + by, stamp, stamp] } }
  } else if (slot?.c !== undefined) {
    // A counter exists but is hidden (replaced by a newer register or map, or
    // older than an enclosing object's birth): start a new epoch from zero.
    counter = { z: stamp, e: { [site]: [by, stamp, stamp] } }
  } else {
    counter = { e: { [site]: [by, stamp, ""] } }
  }
  return atPath(state, path, { c: counter }, stamp)
}

/** Reset a counter to zero (concurrent increments under the old epoch are dropped). */
export const resetCounter = (state: DocState, path: ReadonlyArray<string>, stamp: Stamp): DocState =>
  atPath(state, path, { c: { z: stamp, e: {} } }, stamp)

/**
 * The delta of inserting `doc`: every top-level field written at `stamp`
 * (objects inside replace whole). The root gets no birth, so inserting over a
 * removed document brings it back and `DO UPDATE` keeps fields not named.
 */
export const fromJson = (doc: JsonObject, stamp: Stamp): DocState => {
  const f: { [key: string]: Slot } = {}
  for (const key in doc) setField(f, key, valueNode(doc[key]!, stamp))
  return { f }
}

/** Remove the document: a tombstone as the root's birth. */
export const remove = (stamp: Stamp): DocState => ({ b: stamp, f: {} })

/**
 * The stamp of a state that one write made whole — every value written at
 * the same stamp, nothing removed or counted, a string `_id` — or undefined.
 * Such a state is exactly `fromJson(materialize(state), stamp)`, so a store can
 * keep just the JSON and the stamp (most documents: inserted once, synced as is).
 */
export const singleStamp = (state: DocState): Stamp | undefined => {
  if (state.b !== undefined || typeof state.f._id?.r?.v !== "string") return undefined
  let stamp: Stamp | undefined
  const same = (s: Stamp) => (stamp === undefined ? ((stamp = s), true) : s === stamp)
  const walk = (m: MapNode): boolean => {
    for (const key in m.f) {
      const slot = m.f[key]!
      if (slot.c !== undefined) return false
      if (slot.r !== undefined) {
        if (slot.m !== undefined || slot.r.v === undefined || isObject(slot.r.v) || !same(slot.r.s)) return false
      } else if (slot.m !== undefined) {
        if (slot.m.b === undefined || !same(slot.m.b) || !walk(slot.m)) return false
      } else {
        return false
      }
    }
    return true
  }
  return walk(state) ? stamp : undefined
}
