import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { Document, Hlc, Json, SiteId, Stamp, VersionVector } from "../src/index.js"
import type { DocState } from "../src/Document.js"

const sites = ["00000000000000a1", "00000000000000b2", "00000000000000c3"] as const
const stampOf = (ms: number, site: string) => Stamp.make(Hlc.encode(ms, 0), SiteId.unsafeFromString(site))

// A write is an instruction a replica turns into a local delta.
type Write =
  | { readonly kind: "set"; readonly path: ReadonlyArray<string>; readonly value: Json.Json }
  | { readonly kind: "unset"; readonly path: ReadonlyArray<string> }
  | { readonly kind: "inc"; readonly path: ReadonlyArray<string>; readonly by: number }
  | { readonly kind: "reset"; readonly path: ReadonlyArray<string> }
  | { readonly kind: "remove" }

const key = fc.constantFrom("a", "b", "c")
const path = fc.array(key, { minLength: 1, maxLength: 3 })
const scalar: fc.Arbitrary<Json.Json> = fc.oneof(fc.integer({ min: -5, max: 5 }), fc.constantFrom("x", "y", null, true))
const value: fc.Arbitrary<Json.Json> = fc.oneof(
  scalar,
  fc.dictionary(key, scalar, { maxKeys: 2 }),
  fc.array(scalar, { maxLength: 2 })
)
const write: fc.Arbitrary<Write> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant("set" as const), path, value }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("unset" as const), path }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("inc" as const), path, by: fc.integer({ min: -3, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("reset" as const), path }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("remove" as const) }) }
)

const apply = (state: DocState, w: Write, site: string, stamp: Stamp.Stamp): DocState => {
  switch (w.kind) {
    case "set":
      return Document.set(state, w.path, w.value, stamp)
    case "unset":
      return Document.unset(state, w.path, stamp)
    case "inc":
      return Document.increment(state, w.path, w.by, site, stamp)
    case "reset":
      return Document.resetCounter(state, w.path, stamp)
    case "remove":
      return Document.remove(stamp)
  }
}

/** A history: replica i performs writes at increasing times, merging some remote deltas between them. */
const history = fc.array(
  fc.record({ replica: fc.integer({ min: 0, max: 2 }), write, syncFrom: fc.option(fc.integer({ min: 0, max: 2 })) }),
  { minLength: 1, maxLength: 25 }
)

interface Run {
  readonly states: Array<DocState>
  readonly deltas: Array<DocState>
}

const run = (steps: ReadonlyArray<{ replica: number; write: Write; syncFrom: number | null }>): Run => {
  const states: Array<DocState> = [Document.empty(), Document.empty(), Document.empty()]
  const deltas: Array<DocState> = []
  steps.forEach((step, t) => {
    if (step.syncFrom !== null) states[step.replica] = Document.merge(states[step.replica]!, states[step.syncFrom]!)
    const site = sites[step.replica]!
    const d = apply(states[step.replica]!, step.write, site, stampOf(1000 + t, site))
    deltas.push(d)
    states[step.replica] = Document.merge(states[step.replica]!, d)
  })
  return { states, deltas }
}

const view = (s: DocState) => Document.materialize(s, "doc")
const mergeAll = (xs: ReadonlyArray<DocState>) => xs.reduce(Document.merge, Document.empty())

describe("Document CRDT", () => {
  it("merge is commutative, associative and idempotent", () =>
    fc.assert(
      fc.property(history, (steps) => {
        const [a, b, c] = run(steps).states as [DocState, DocState, DocState]
        expect(view(Document.merge(a, b))).toEqual(view(Document.merge(b, a)))
        expect(Document.merge(a, b)).toEqual(Document.merge(b, a))
        expect(Document.merge(Document.merge(a, b), c)).toEqual(Document.merge(a, Document.merge(b, c)))
        expect(Document.merge(a, a)).toEqual(a)
      }),
      { numRuns: 300 }
    ))

  it("any order, duplication or batching of deltas converges to the same JSON", () =>
    fc.assert(
      fc.property(
        history.chain((steps) => {
          const { deltas } = run(steps)
          return fc.tuple(
            fc.constant(deltas),
            fc.shuffledSubarray([...deltas.keys(), ...deltas.keys()], { minLength: deltas.length * 2 }),
            fc.integer({ min: 1, max: 4 })
          )
        }),
        ([deltas, order, batch]) => {
          const expected = mergeAll(deltas)
          let state = Document.empty()
          for (let i = 0; i < order.length; i += batch) {
            state = Document.merge(state, mergeAll(order.slice(i, i + batch).map((j) => deltas[j]!)))
          }
          expect(view(state)).toEqual(view(expected))
          expect(Document.versionVector(state)).toEqual(Document.versionVector(expected))
        }
      ),
      { numRuns: 300 }
    ))

  it("delta(vv) merged into a replica at vv equals full-state merge", () =>
    fc.assert(
      fc.property(history, fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 }), (steps, from, to) => {
        const { states } = run(steps)
        const sender = states[from]!
        const receiver = states[to]!
        const d = Document.delta(sender, Document.versionVector(receiver))
        const viaDelta = d === undefined ? receiver : Document.merge(receiver, d)
        expect(viaDelta).toEqual(Document.merge(receiver, sender))
        expect(Document.delta(viaDelta, Document.versionVector(viaDelta))).toBeUndefined()
      }),
      { numRuns: 300 }
    ))

  it("a field named __proto__ stays a field through fromJson, merge and materialize", () => {
    const stamp = stampOf(1_700_000_000_000, "00000000000000a1")
    const doc: Json.JsonObject = JSON.parse('{"_id":"x","__proto__":{"k":1},"n":{"__proto__":2}}')
    const state = Document.merge(Document.empty(), Document.fromJson(doc, stamp))
    const out = Document.materialize(state, "x")
    expect(JSON.stringify(out)).toBe(JSON.stringify(doc))
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype)
  })

  it("version vector covers exactly the stamps present", () =>
    fc.assert(
      fc.property(history, (steps) => {
        const { states } = run(steps)
        for (const s of states) {
          const vv = Document.versionVector(s)
          expect(Document.delta(s, vv)).toBeUndefined()
          expect(VersionVector.dominates(vv, Document.versionVector(Document.empty()))).toBe(true)
        }
      })
    ))

  it("last writer wins per field; objects replace whole; fields merge", () => {
    const [a, b] = sites
    const s1 = Document.fromJson({ _id: "d", name: "x", addr: { city: "Oslo", zip: "1" } }, stampOf(1, a))
    const s2 = Document.merge(s1, Document.set(s1, ["name"], "y", stampOf(3, b)))
    const s3 = Document.merge(s2, Document.set(s1, ["addr", "city"], "Bergen", stampOf(2, a)))
    expect(view(s3)).toEqual({ _id: "doc", name: "y", addr: { city: "Bergen", zip: "1" } })
    const s4 = Document.merge(s3, Document.set(s3, ["addr"], { city: "Rome" }, stampOf(4, a)))
    expect(view(s4)).toEqual({ _id: "doc", name: "y", addr: { city: "Rome" } })
    // A concurrent nested write stamped after the replacement survives it.
    const s5 = Document.merge(s4, Document.set(s3, ["addr", "zip"], "9", stampOf(5, b)))
    expect(view(s5)).toEqual({ _id: "doc", name: "y", addr: { city: "Rome", zip: "9" } })
  })

  it("UNSET removes a field; concurrent counter increments all count", () => {
    const [a, b, c] = sites
    const base = Document.fromJson({ _id: "d", n: 1 }, stampOf(1, a))
    const unset = Document.merge(base, Document.unset(base, ["n"], stampOf(2, a)))
    expect(view(unset)).toEqual({ _id: "doc" })
    const x = Document.increment(Document.empty(), ["hits"], 2, a, stampOf(5, a))
    const y = Document.increment(Document.empty(), ["hits"], 3, b, stampOf(6, b))
    const z = Document.increment(Document.empty(), ["hits"], -1, c, stampOf(7, c))
    const merged = mergeAll([x, y, z])
    expect(view(merged)).toEqual({ _id: "doc", hits: 4 })
    const again = Document.merge(merged, Document.increment(merged, ["hits"], 10, a, stampOf(8, a)))
    expect(view(again)).toEqual({ _id: "doc", hits: 14 })
    const reset = Document.merge(again, Document.resetCounter(again, ["hits"], stampOf(9, b)))
    expect(view(reset)).toEqual({ _id: "doc", hits: 0 })
    const fromRegister = Document.fromJson({ _id: "d", n: 5 }, stampOf(1, a))
    const bumped = Document.merge(fromRegister, Document.increment(fromRegister, ["n"], 1, b, stampOf(2, b)))
    expect(view(bumped)).toEqual({ _id: "doc", n: 6 })
  })

  it("a removed document comes back when a field is written after the tombstone", () => {
    const [a, b] = sites
    const doc = Document.fromJson({ _id: "d", x: 1, y: 2 }, stampOf(1, a))
    const removed = Document.merge(doc, Document.remove(stampOf(5, a)))
    expect(view(removed)).toBeUndefined()
    // An edit made before the removal (concurrently) stays removed...
    const early = Document.merge(removed, Document.set(doc, ["x"], 9, stampOf(4, b)))
    expect(view(early)).toBeUndefined()
    // ...one made after it brings the document back with only that field.
    const late = Document.merge(removed, Document.set(doc, ["y"], 7, stampOf(6, b)))
    expect(view(late)).toEqual({ _id: "doc", y: 7 })
  })
})
