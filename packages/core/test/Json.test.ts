import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { Json } from "../src/index.js"

// Strings with what JSON escapes: quotes, backslashes, control characters, lone surrogates.
const tricky = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary" }),
  fc.constantFrom("", "a\"b", "a\\b", "\n", "\u2028", "\ud800", "\ud83d\ude00", "item-0000001")
)
const idValue: fc.Arbitrary<Json.Json> = fc.oneof(tricky, fc.integer(), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 }))

describe("Json.isIdOf", () => {
  it("agrees with idOfDocument(doc) === id, for the document's own id and for others", () =>
    fc.assert(
      fc.property(idValue, tricky, (v, other) => {
        const doc: Json.JsonObject = { _id: v, n: 1 }
        const own = Json.idOfDocument(doc)
        expect(Json.isIdOf(own, doc)).toBe(true)
        for (const id of [other, JSON.stringify(other), `"${other}"`, own.slice(1), `${own} `]) {
          expect(Json.isIdOf(id, doc)).toBe(Json.idOfDocument(doc) === id)
        }
      }),
      { numRuns: 2000 }
    ))

  it("a document without _id has the id of null", () => {
    expect(Json.isIdOf("null", { a: 1 })).toBe(true)
    expect(Json.isIdOf("\"null\"", { a: 1 })).toBe(false)
  })
})
