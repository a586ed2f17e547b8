import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import * as Either from "effect/Either"
import { Ast, Evaluate, parse, parseExpression } from "../src/Dql/index.js"
import * as Schema from "effect/Schema"
import { equals, type Json, Json as JsonSchema, type JsonObject } from "../src/Json.js"

const e = (text: string): Ast.Expr => Either.getOrThrow(parseExpression(text))
const val = (text: string, doc: JsonObject = {}, args: Evaluate.Args = {}) => Evaluate.evalExpr(e(text), doc, args)
const m = (text: string, doc: JsonObject, args: Evaluate.Args = {}) => Evaluate.matches(e(text), doc, args)
const select = (text: string): Ast.Select => {
  const s = Either.getOrThrow(parse(text))
  if (s._tag !== "Select") throw new Error("not a SELECT")
  return s
}

const doc: JsonObject = {
  _id: "d1",
  name: "Ada",
  age: 36,
  nil: null,
  tags: ["x", "y"],
  owner: { name: "Bob", address: { city: "Paris" } },
  done: true
}

describe("Dql.Evaluate values", () => {
  it("nested paths, MISSING, args", () => {
    expect(val("owner.address.city", doc)).toBe("Paris")
    expect(val("owner.nope.city", doc)).toBeUndefined()
    expect(val("name.length", doc)).toBeUndefined() // paths do not look into strings
    expect(val("tags.x", doc)).toBeUndefined() // nor arrays
    expect(val("toString", doc)).toBeUndefined() // nor prototypes
    expect(val("__proto__", doc)).toBeUndefined()
    expect(val(":x", doc, { x: [1] })).toStrictEqual([1])
    expect(val(":missing", doc, {})).toBeUndefined()
    expect(val("{a: name, b: nope, 'c': :x}", doc, { x: 1 })).toStrictEqual({ a: "Ada", c: 1 })
    expect(val("[name, nope]", doc)).toStrictEqual(["Ada", null])
  })

  it("object literals keep odd keys as own properties", () => {
    const v = val(`{"__proto__": 1, "constructor": 2}`)
    expect(Object.keys(v as object)).toStrictEqual(["__proto__", "constructor"])
  })

  it("arithmetic", () => {
    expect(val("age + 4", doc)).toBe(40)
    expect(val("age - 6 * 2", doc)).toBe(24)
    expect(val("(age - 6) * 2", doc)).toBe(60)
    expect(val("7 % 3")).toBe(1)
    expect(val("-age", doc)).toBe(-36)
    expect(val("- -age", doc)).toBe(36)
    expect(val("1 / 0")).toBeNull()
    expect(val("1 % 0")).toBeNull()
    expect(val("0 * -1")).toBe(0)
    expect(Object.is(val("0 * -1"), -0)).toBe(false)
    expect(val("1e308 * 10")).toBeNull()
    expect(val("name + 1", doc)).toBeNull()
    expect(val("nope + 1", doc)).toBeUndefined()
    expect(val("-name", doc)).toBeNull()
  })

  it("functions", () => {
    expect(val("length(name)", doc)).toBe(3)
    expect(val("length('😀')")).toBe(1)
    expect(val("length(tags)", doc)).toBe(2)
    expect(val("length(owner)", doc)).toBe(2)
    expect(val("length(age)", doc)).toBeNull()
    expect(val("length(nope)", doc)).toBeUndefined()
    expect(val("lower(name)", doc)).toBe("ada")
    expect(val("upper(name)", doc)).toBe("ADA")
    expect(val("abs(-3)")).toBe(3)
    expect(val("coalesce(nope, nil, name)", doc)).toBe("Ada")
    expect(val("coalesce(nope, nil)", doc)).toBeNull()
  })
})

describe("Dql.Evaluate predicates", () => {
  it("comparisons with MISSING or NULL are false, both ways", () => {
    for (const p of ["nope = 1", "nope != 1", "nil = null", "nil != 1", "nope < 1", "nil >= 0", "name = null", "name != null"]) {
      expect(m(p, doc)).toBe(false)
    }
    expect(m("NOT nope = 1", doc)).toBe(true)
    expect(m("NOT (nope != 1)", doc)).toBe(true)
  })

  it("equality is structural; ordering only between like scalars", () => {
    expect(m("tags = ['x', 'y']", doc)).toBe(true)
    expect(m("tags = ['y', 'x']", doc)).toBe(false)
    expect(m("owner = {address: {city: 'Paris'}, name: 'Bob'}", doc)).toBe(true)
    expect(m("owner != {name: 'Bob'}", doc)).toBe(true)
    expect(m("age = 36.0", doc)).toBe(true)
    expect(m("age = '36'", doc)).toBe(false)
    expect(m("age != '36'", doc)).toBe(true)
    expect(m("age < 40 AND age >= 36 AND age <= 36 AND age > 35", doc)).toBe(true)
    expect(m("age < 'z'", doc)).toBe(false)
    expect(m("age > 'a'", doc)).toBe(false)
    expect(m("name < 'Adb' AND name > 'Ad'", doc)).toBe(true)
    expect(m("false < true AND done > false", doc)).toBe(true)
    expect(m("tags < ['z']", doc)).toBe(false)
    // code point order, not UTF-16 unit order
    expect(m("'\uffff' < '😀'", {})).toBe(true)
  })

  it("AND / OR / NOT are two-valued; a condition holds only for true", () => {
    expect(m("done", doc)).toBe(true)
    expect(m("age", doc)).toBe(false)
    expect(m("NOT age", doc)).toBe(true)
    expect(m("nope OR done", doc)).toBe(true)
    expect(m("NOT nope AND done", doc)).toBe(true)
    expect(Evaluate.matches(undefined, doc, {})).toBe(true)
  })

  it("IN and NOT IN", () => {
    expect(m("name IN ('Bob', 'Ada')", doc)).toBe(true)
    expect(m("name IN ()", doc)).toBe(false)
    expect(m("name NOT IN ('Bob')", doc)).toBe(true)
    expect(m("name NOT IN ('Ada')", doc)).toBe(false)
    expect(m("name NOT IN ()", doc)).toBe(true)
    expect(m("name NOT IN ('Bob', null)", doc)).toBe(false) // like SQL: a NULL in the list makes NOT IN false
    expect(m("nope IN (1, null)", doc)).toBe(false)
    expect(m("nope NOT IN (1)", doc)).toBe(false)
    expect(m("'x' IN tags", doc)).toBe(true)
    expect(m("'z' IN tags", doc)).toBe(false)
    expect(m("'x' IN name", doc)).toBe(false) // not an array
    expect(m("age IN :ages", doc, { ages: [1, 36] })).toBe(true)
    expect(m("owner.address IN :a", doc, { a: [{ city: "Paris" }] })).toBe(true)
    expect(m("age IN :ages", doc, { ages: 36 })).toBe(false)
    expect(m("age NOT IN :ages", doc, { ages: 36 })).toBe(false)
  })

  it("LIKE: % and _ over characters, case-sensitive, \\ escapes", () => {
    expect(Evaluate.like("Ada", "A%")).toBe(true)
    expect(Evaluate.like("Ada", "a%")).toBe(false)
    expect(Evaluate.like("Ada", "_d_")).toBe(true)
    expect(Evaluate.like("Ada", "__")).toBe(false)
    expect(Evaluate.like("Ada", "%")).toBe(true)
    expect(Evaluate.like("", "%")).toBe(true)
    expect(Evaluate.like("", "_")).toBe(false)
    expect(Evaluate.like("😀x", "_x")).toBe(true)
    expect(Evaluate.like("abcabd", "%ab_")).toBe(true)
    expect(Evaluate.like("aXbXc", "a%b%c")).toBe(true)
    expect(Evaluate.like("50%", "50\\%")).toBe(true)
    expect(Evaluate.like("500", "50\\%")).toBe(false)
    expect(Evaluate.like("a_b", "a\\_b")).toBe(true)
    expect(Evaluate.like("a\\b", "a\\\\b")).toBe(true)
    expect(Evaluate.like("a.*b", "a.*b")).toBe(true)
    expect(Evaluate.like("a".repeat(5000), "%a%a%a%a%a%b")).toBe(false) // no catastrophic backtracking
    expect(m("name LIKE 'A%'", doc)).toBe(true)
    expect(m("name NOT LIKE 'B%'", doc)).toBe(true)
    expect(m("age LIKE '3%'", doc)).toBe(false)
    expect(m("age NOT LIKE '3%'", doc)).toBe(false)
    expect(m("nope NOT LIKE 'x'", doc)).toBe(false)
  })

  it("IS NULL / IS MISSING", () => {
    expect(m("nil IS NULL", doc)).toBe(true)
    expect(m("nope IS NULL", doc)).toBe(false)
    expect(m("nope IS NOT NULL", doc)).toBe(true)
    expect(m("nope IS MISSING", doc)).toBe(true)
    expect(m("nil IS MISSING", doc)).toBe(false)
    expect(m("nil IS NOT MISSING", doc)).toBe(true)
    expect(m("owner.address.zip IS MISSING", doc)).toBe(true)
  })
})

describe("Dql.Evaluate ordering", () => {
  it("compare: MISSING < null < booleans < numbers < strings < arrays < objects", () => {
    const ordered: Array<Json | undefined> = [
      undefined, null, false, true, -1e9, 0, 2.5, 10, "", "A", "B", "a", "é", "😀", [], [0], [0, 0], [1], ["a"], {}, { a: 1 }, { a: 2 }, { b: 0 }
    ]
    for (let i = 0; i < ordered.length; i++) {
      for (let j = 0; j < ordered.length; j++) {
        expect(Evaluate.compare(ordered[i], ordered[j])).toBe(Math.sign(i - j))
      }
    }
  })

  const json: fc.Arbitrary<Json> = fc.jsonValue({ maxDepth: 3 }).map((v) => Schema.decodeUnknownSync(JsonSchema)(v))
  it.prop("compare is a total order consistent with equals", { a: json, b: json, c: json }, ({ a, b, c }) => {
    expect(Evaluate.compare(a, b) + Evaluate.compare(b, a)).toBe(0)
    expect(Evaluate.compare(a, b) === 0).toBe(equals(a, b))
    if (Evaluate.compare(a, b) <= 0 && Evaluate.compare(b, c) <= 0) expect(Evaluate.compare(a, c)).toBeLessThanOrEqual(0)
  })

  it.prop("compareStrings is code point order", { a: fc.string({ unit: "binary" }), b: fc.string({ unit: "binary" }) }, ({ a, b }) => {
    const cps = (s: string) => Array.from(s, (c) => c.codePointAt(0)!)
    const x = cps(a)
    const y = cps(b)
    let expected = Math.sign(x.length - y.length)
    for (let i = 0; i < Math.min(x.length, y.length); i++) {
      if (x[i] !== y[i]) {
        expected = Math.sign(x[i]! - y[i]!)
        break
      }
    }
    expect(Evaluate.compareStrings(a, b)).toBe(expected)
  })

  const docs: Array<JsonObject> = [
    { _id: 1, v: "b" },
    { _id: 2, v: 3 },
    { _id: 3 },
    { _id: 4, v: null },
    { _id: 5, v: [1] },
    { _id: 6, v: true },
    { _id: 7, v: { a: 1 } },
    { _id: 8, v: "a" },
    { _id: 9, v: 3 }
  ]
  const ids = (xs: ReadonlyArray<JsonObject>) => xs.map((d) => d._id)

  it("ORDER BY over mixed types, stable, ASC and DESC", () => {
    const s = select("SELECT * FROM c ORDER BY v")
    expect(ids(Evaluate.sortPage(docs, s.orderBy, s.limit, s.offset, {}))).toStrictEqual([3, 4, 6, 2, 9, 8, 1, 5, 7])
    const d = select("SELECT * FROM c ORDER BY v DESC")
    expect(ids(Evaluate.sortPage(docs, d.orderBy, d.limit, d.offset, {}))).toStrictEqual([7, 5, 1, 8, 2, 9, 6, 4, 3])
    const two = select("SELECT * FROM c ORDER BY v DESC, _id DESC")
    expect(ids(Evaluate.sortPage(docs, two.orderBy, undefined, undefined, {})).slice(4, 6)).toStrictEqual([9, 2])
  })

  it("LIMIT and OFFSET, literal or argument", () => {
    const s = select("SELECT * FROM c ORDER BY _id LIMIT 3 OFFSET 2")
    expect(ids(Evaluate.sortPage(docs, s.orderBy, s.limit, s.offset, {}))).toStrictEqual([3, 4, 5])
    const a = select("SELECT * FROM c ORDER BY _id DESC LIMIT :n OFFSET :o")
    expect(ids(Evaluate.sortPage(docs, a.orderBy, a.limit, a.offset, { n: 2, o: 8 }))).toStrictEqual([1])
    expect(ids(Evaluate.sortPage(docs, [], 0, undefined, {}))).toStrictEqual([])
    expect(ids(Evaluate.sortPage(docs, [], undefined, 100, {}))).toStrictEqual([])
    expect(ids(Evaluate.sortPage(docs, [], 2, undefined, {}))).toStrictEqual([1, 2])
  })

  it("ORDER BY an expression", () => {
    const s = select("SELECT * FROM c ORDER BY -n")
    const xs: Array<JsonObject> = [{ n: 1 }, { n: 3 }, { n: 2 }]
    expect(Evaluate.sortPage(xs, s.orderBy, undefined, undefined, {})).toStrictEqual([{ n: 3 }, { n: 2 }, { n: 1 }])
  })
})

describe("Dql.Evaluate projection", () => {
  it("paths keep their place, aliases and expressions get names, MISSING is left out", () => {
    const s = select("SELECT name, owner.address.city, age + 1 AS next, length(tags), nope FROM c")
    expect(Evaluate.project(s.projection, doc, {})).toStrictEqual({
      name: "Ada",
      owner: { address: { city: "Paris" } },
      next: 37,
      $4: 2
    })
    expect(Evaluate.project("*", doc, {})).toBe(doc)
  })

  it("overlapping paths merge", () => {
    const s = select("SELECT owner.name, owner.address.city FROM c")
    expect(Evaluate.project(s.projection, doc, {})).toStrictEqual({ owner: { name: "Bob", address: { city: "Paris" } } })
  })
})

describe("Dql.Evaluate.checkArgs", () => {
  const check = (text: string, args: Evaluate.Args) => Evaluate.checkArgs(Either.getOrThrow(parse(text)), args)

  it("lists every argument a statement uses", () => {
    const s = Either.getOrThrow(parse("SELECT :p AS x FROM c WHERE a = :a AND b IN :list ORDER BY :o LIMIT :n OFFSET :a"))
    expect(Ast.argNames(s)).toStrictEqual(["p", "a", "list", "o", "n"])
    const u = Either.getOrThrow(parse("UPDATE c SET x = {v: :v} APPLY n PN_INCREMENT BY :by WHERE _id = :id"))
    expect(Ast.argNames(u)).toStrictEqual(["v", "by", "id"])
  })

  it("fails on the first missing argument with a typed error", () => {
    const r = check("SELECT * FROM c WHERE a = :a AND b = :b AND c = :c", { b: 1 })
    expect(Either.isLeft(r)).toBe(true)
    const e = Either.getLeft(r)
    expect(e._tag === "Some" && e.value).toMatchObject({
      _tag: "DqlArgumentError",
      name: "a",
      message: "missing argument :a (also missing: :c)"
    })
    expect(Either.isRight(check("SELECT * FROM c WHERE a = :a", { a: null }))).toBe(true)
  })

  it("checks LIMIT/OFFSET and INSERT document arguments", () => {
    const bad = (text: string, args: Evaluate.Args) => Either.getLeft(check(text, args))
    expect(bad("SELECT * FROM c LIMIT :n", { n: -1 })).toMatchObject({
      _tag: "Some",
      value: { name: "n", message: "LIMIT :n must be a non-negative integer, got -1" }
    })
    expect(bad("EXPLAIN SELECT * FROM c OFFSET :n", { n: "2" })._tag).toBe("Some")
    expect(bad("INSERT INTO c DOCUMENTS (:d)", { d: 1 })).toMatchObject({ _tag: "Some", value: { name: "d" } })
    expect(Either.isRight(check("INSERT INTO c DOCUMENTS (:d)", { d: [{ a: 1 }, {}] }))).toBe(true)
    expect(Either.isRight(check("SELECT * FROM c LIMIT :n", { n: 0 }))).toBe(true)
  })
})
