import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Schema from "effect/Schema"
import type { JsonObject } from "../src/Json.js"
import * as Permissions from "../src/Permissions.js"

const compileOrThrow = (perms: Permissions.Permissions): Permissions.Compiled =>
  Either.getOrThrowWith(Permissions.compile(perms), (e) => e)

const rule = (queriesByCollection: Record<string, ReadonlyArray<string>>): Permissions.Rule => ({
  everything: false,
  queriesByCollection
})

describe("Permissions", () => {
  it("decodes the auth webhook's JSON shape", () => {
    const json: unknown = JSON.parse(`{
      "read": { "everything": true, "queriesByCollection": {} },
      "write": { "everything": false, "queriesByCollection": { "tasks": ["owner = 'alice'"] } }
    }`)
    expect(Schema.decodeUnknownSync(Permissions.Permissions)(json)).toEqual({
      read: { everything: true, queriesByCollection: {} },
      write: { everything: false, queriesByCollection: { tasks: ["owner = 'alice'"] } }
    })
    expect(Schema.decodeUnknownEither(Permissions.Permissions)({ read: { everything: true } })._tag).toBe("Left")
  })

  it("compile reports the first invalid predicate with its place and position", () => {
    const result = Permissions.compile({
      read: rule({ tasks: ["owner = 'alice'"] }),
      write: rule({ tasks: ["owner = 'alice'"], notes: ["author =", "true"] })
    })
    const error = Either.getOrThrow(Either.flip(result))
    expect(error).toBeInstanceOf(Permissions.PermissionQueryError)
    expect(error).toMatchObject({ access: "write", collection: "notes", query: "author =", line: 1 })
    expect(error.message).toMatch(/^invalid write permission query for collection "notes" \("author ="\): /)
  })

  it("compile refuses :arguments in predicates (there is nothing to bind them to)", () => {
    const result = Permissions.compile({ read: rule({ tasks: ["owner = :me"] }), write: Permissions.ruleNone })
    expect(Either.getOrThrow(Either.flip(result)).reason).toContain(":me")
  })

  it("none allows nothing, all allows everything", () => {
    const doc = { _id: "t1", owner: "alice" }
    for (const none of [Permissions.compiledNone, compileOrThrow(Permissions.none)]) {
      expect(Permissions.canRead(none, "tasks", doc)).toBe(false)
      expect(Permissions.canWrite(none, "tasks", undefined, doc)).toBe(false)
      expect(Permissions.canWrite(none, "tasks", doc, undefined)).toBe(false)
    }
    for (const all of [Permissions.compiledAll, compileOrThrow(Permissions.all)]) {
      expect(Permissions.canRead(all, "anything", doc)).toBe(true)
      expect(Permissions.canWrite(all, "anything", doc, { ...doc, owner: "bob" })).toBe(true)
      expect(Permissions.canWrite(all, "anything", doc, undefined)).toBe(true)
    }
    const readOnly = compileOrThrow(Permissions.readOnly)
    expect(Permissions.canRead(readOnly, "tasks", doc)).toBe(true)
    expect(Permissions.canWrite(readOnly, "tasks", undefined, doc)).toBe(false)
  })

  it("canRead: some predicate of the document's collection matches; other collections are not covered", () => {
    const c = compileOrThrow({
      read: rule({ tasks: ["owner = 'alice' AND NOT archived", "shared = true"], users: ["_id = 'alice'"], empty: [] }),
      write: Permissions.ruleNone
    })
    expect(Permissions.canRead(c, "tasks", { _id: 1, owner: "alice" })).toBe(true) // archived missing: NOT holds
    expect(Permissions.canRead(c, "tasks", { _id: 1, owner: "alice", archived: true })).toBe(false)
    expect(Permissions.canRead(c, "tasks", { _id: 1, owner: "bob", shared: true })).toBe(true)
    expect(Permissions.canRead(c, "tasks", { _id: 1, owner: "bob" })).toBe(false)
    expect(Permissions.canRead(c, "users", { _id: "alice" })).toBe(true)
    expect(Permissions.canRead(c, "users", { _id: "bob" })).toBe(false)
    expect(Permissions.canRead(c, "notes", { _id: 1, owner: "alice" })).toBe(false)
    expect(Permissions.canRead(c, "empty", { _id: 1 })).toBe(false)
  })

  it("canRead works on object ids and nested paths", () => {
    const c = compileOrThrow({
      read: rule({ orders: ["_id.shop = 'north' AND customer.name LIKE 'A%'"] }),
      write: Permissions.ruleNone
    })
    expect(Permissions.canRead(c, "orders", { _id: { shop: "north", n: 1 }, customer: { name: "Ada" } })).toBe(true)
    expect(Permissions.canRead(c, "orders", { _id: { shop: "south", n: 1 }, customer: { name: "Ada" } })).toBe(false)
  })

  describe("canWrite", () => {
    const c = compileOrThrow({
      read: Permissions.ruleAll,
      write: rule({ tasks: ["owner = 'alice'", "team = 'red' AND NOT locked"] })
    })
    const mine = { _id: "t1", owner: "alice", title: "a" }

    it("insert: the new document must be writable", () => {
      expect(Permissions.canWrite(c, "tasks", undefined, mine)).toBe(true)
      expect(Permissions.canWrite(c, "tasks", undefined, { _id: "t2", owner: "bob" })).toBe(false)
      expect(Permissions.canWrite(c, "notes", undefined, mine)).toBe(false)
    })

    it("update: before and after must both be writable", () => {
      expect(Permissions.canWrite(c, "tasks", mine, { ...mine, title: "b" })).toBe(true)
      // Moving a document out of the writable set (giving it away) is refused...
      expect(Permissions.canWrite(c, "tasks", mine, { ...mine, owner: "bob" })).toBe(false)
      // ...and so is taking one in.
      expect(Permissions.canWrite(c, "tasks", { ...mine, owner: "bob" }, mine)).toBe(false)
      // Moving between two writable predicates is fine.
      expect(Permissions.canWrite(c, "tasks", mine, { _id: "t1", owner: "carol", team: "red" })).toBe(true)
      expect(Permissions.canWrite(c, "tasks", mine, { ...mine, owner: "carol", team: "red", locked: true })).toBe(false)
    })

    it("remove: the removed document must be writable", () => {
      expect(Permissions.canWrite(c, "tasks", mine, undefined)).toBe(true)
      expect(Permissions.canWrite(c, "tasks", { _id: "t2", owner: "bob" }, undefined)).toBe(false)
    })

    it("a change with neither side is refused (unless everything is writable)", () => {
      expect(Permissions.canWrite(c, "tasks", undefined, undefined)).toBe(false)
      expect(Permissions.canWrite(Permissions.compiledAll, "tasks", undefined, undefined)).toBe(true)
    })
  })

  // Property: canRead is exactly "some predicate of the collection matches",
  // checked against hand-written oracles for a pool of predicates.
  const pool: ReadonlyArray<readonly [string, (d: JsonObject) => boolean]> = [
    ["owner = 'alice'", (d) => d["owner"] === "alice"],
    ["n > 5", (d) => typeof d["n"] === "number" && d["n"] > 5],
    ["NOT archived", (d) => d["archived"] !== true],
    ["owner IN ['bob', 'carol'] AND n <= 0", (d) =>
      (d["owner"] === "bob" || d["owner"] === "carol") && typeof d["n"] === "number" && d["n"] <= 0],
    ["_id = 'x1'", (d) => d["_id"] === "x1"],
    ["archived IS MISSING OR archived = false", (d) => d["archived"] === undefined || d["archived"] === false],
    ["n % 2 = 0 AND owner != 'alice'", (d) =>
      typeof d["n"] === "number" && d["n"] % 2 === 0 && typeof d["owner"] === "string" && d["owner"] !== "alice"]
  ]

  const docArb: FastCheck.Arbitrary<JsonObject> = FastCheck.record(
    {
      _id: FastCheck.constantFrom("x1", "x2", "x3"),
      owner: FastCheck.constantFrom("alice", "bob", "carol"),
      n: FastCheck.integer({ min: -10, max: 10 }),
      archived: FastCheck.oneof(FastCheck.boolean(), FastCheck.constant(null))
    },
    { requiredKeys: ["_id"] }
  )
  const subsetArb = FastCheck.subarray([...pool.keys()])

  it("property: canRead ≡ some predicate of the collection matches", () => {
    FastCheck.assert(
      FastCheck.property(subsetArb, subsetArb, FastCheck.array(docArb, { maxLength: 20 }), (tasks, notes, docs) => {
        const c = compileOrThrow({
          read: rule({ tasks: tasks.map((i) => pool[i]![0]), notes: notes.map((i) => pool[i]![0]) }),
          write: Permissions.ruleNone
        })
        for (const doc of docs) {
          expect(Permissions.canRead(c, "tasks", doc)).toBe(tasks.some((i) => pool[i]![1](doc)))
          expect(Permissions.canRead(c, "notes", doc)).toBe(notes.some((i) => pool[i]![1](doc)))
          expect(Permissions.canRead(c, "other", doc)).toBe(false)
        }
      }),
      { numRuns: 300 }
    )
  })

  it("property: canWrite ≡ (before absent or writable) and (after absent or writable), one side present", () => {
    FastCheck.assert(
      FastCheck.property(
        subsetArb,
        FastCheck.option(docArb, { nil: undefined }),
        FastCheck.option(docArb, { nil: undefined }),
        (indices, before, after) => {
          const c = compileOrThrow({ read: Permissions.ruleNone, write: rule({ tasks: indices.map((i) => pool[i]![0]) }) })
          const writable = (d: JsonObject) => indices.some((i) => pool[i]![1](d))
          const expected = (before !== undefined || after !== undefined) &&
            (before === undefined || writable(before)) &&
            (after === undefined || writable(after))
          expect(Permissions.canWrite(c, "tasks", before, after)).toBe(expected)
        }
      ),
      { numRuns: 300 }
    )
  })
})
