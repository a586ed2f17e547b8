import { describe, expect, it } from "@effect/vitest"
import { Json, Op, Stamp } from "@shoal/core"
import { FastCheck as fc, Schema } from "effect"
import { OpPayload } from "../src/index.js"

const stamp = fc.constantFrom("0000019a000000010000000000000001", "0000019a000000020000000000000002").map((s) => Stamp.Stamp.make(s))
const collection = fc.constantFrom("a", "b")
const id = fc.oneof(fc.string({ maxLength: 6 }), fc.record({ k: fc.integer() }))
const put = fc.record({
  collection,
  stamp,
  doc: fc.record({ _id: id, v: fc.integer(), s: fc.string({ maxLength: 4 }) })
}).map(({ collection, doc, stamp }) => ({ collection, id: Json.canonical(doc._id), put: doc, stamp }))
const evict = fc.record({ collection, id: fc.string({ maxLength: 4 }).map((s) => JSON.stringify(s)), evict: fc.constant(true as const) })
const delta = fc.record({ collection, id: fc.string({ maxLength: 4 }).map((s) => JSON.stringify(s)), delta: fc.constant({ f: {} }) })
// A Put whose id does not match its _id is kept as it is (never grouped).
const oddPut = put.map((p) => ({ ...p, id: JSON.stringify("other") }))

const decodeChanges = Schema.decodeUnknownSync(Op.Op.fields.changes)

describe("OpPayload", () => {
  it("decode(encode(changes)) = changes, grouping runs of whole documents", () =>
    fc.assert(
      fc.property(fc.array(fc.oneof(put, put, put, evict, delta, oddPut), { maxLength: 30 }), (raw) => {
        const changes = decodeChanges(raw)
        const text = OpPayload.encode(changes)
        expect(decodeChanges(OpPayload.decode(text))).toEqual(changes)
        expect(OpPayload.summary(text)?.changes).toBe(changes.length)
      }),
      { numRuns: 300 }
    ))

  it("a bulk insert is stored without repeating ids, collection or stamp", () => {
    const s = Stamp.Stamp.make("0000019a000000010000000000000001")
    const changes = Array.from({ length: 100 }, (_, i) => ({ collection: "c", id: JSON.stringify(`d${i}`), put: { _id: `d${i}`, n: i }, stamp: s }))
    const text = OpPayload.encode(changes)
    expect(text.split(s).length - 1).toBe(1)
    expect(text.length).toBeLessThan(JSON.stringify(changes).length / 2)
  })
})
