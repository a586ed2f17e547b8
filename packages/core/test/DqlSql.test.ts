import { afterAll, describe, expect, it } from "@effect/vitest"
import Database from "better-sqlite3"
import { FastCheck as fc } from "effect"
import * as Either from "effect/Either"
import { Ast, Evaluate, parseExpression, printExpr, Sql } from "../src/Dql/index.js"
import type { Json, JsonObject } from "../src/Json.js"

const db = new Database(":memory:")
db.exec("CREATE TABLE docs (visible_json TEXT NOT NULL)")
afterAll(() => db.close())

const insert = db.prepare<[number, string]>("INSERT INTO docs (rowid, visible_json) VALUES (?, ?)")
const load = db.transaction((docs: ReadonlyArray<JsonObject>) => {
  db.exec("DELETE FROM docs")
  docs.forEach((d, i) => insert.run(i + 1, JSON.stringify(d)))
})

/** rowids (1-based doc positions) SQLite selects with the pushed predicate */
const sqliteMatches = (fragment: Sql.SqlFragment): Array<number> =>
  db.prepare<Array<string | number | null>, { id: number }>(`SELECT rowid AS id FROM docs WHERE ${fragment.sql} ORDER BY rowid`)
    .all(...fragment.params)
    .map((r) => r.id)

const tsMatches = (where: Ast.Expr, docs: ReadonlyArray<JsonObject>, args: Evaluate.Args): Array<number> =>
  docs.flatMap((d, i) => (Evaluate.matches(where, d, args) ? [i + 1] : []))

const e = (text: string): Ast.Expr => Either.getOrThrow(parseExpression(text))

// ---------------------------------------------------------------------------
// Arbitraries: documents over a few fields, simple predicates over those fields
// ---------------------------------------------------------------------------

/** strings without U+0000 (SQLite's GLOB stops there; see the LIKE note in Sql.ts) */
const text = fc.oneof(
  fc.constantFrom("", "a", "ab", "abc", "b", "A", "B", "é", "😀", "\uffff", "\ue000", "a%b", "a_b", "a*b", "a?b", "[a]", "x\\y", "1", "true", "null", "[1]", "'", "\""),
  fc.string({ maxLength: 4, unit: "grapheme" }).filter((s) => !s.includes("\u0000"))
)
const num = fc.oneof(
  fc.integer({ min: -3, max: 3 }),
  fc.constantFrom(0.5, -2.5, 0.1, 1e20, 2 ** 53 + 2, 2 ** 63, -(2 ** 63), 2 ** 64, 5e-324, 1.7976931348623157e308, 123456789.123),
  fc.double({ noNaN: true, noDefaultInfinity: true })
)
const scalar: fc.Arbitrary<Json> = fc.oneof(fc.constant(null), fc.boolean(), num, text)
const value: fc.Arbitrary<Json> = fc.oneof(
  { weight: 6, arbitrary: scalar },
  fc.constantFrom<Json>([], [1], ["a"], {}, { x: 1 }, [null])
)
const doc: fc.Arbitrary<JsonObject> = fc.record(
  {
    a: value,
    b: value,
    s: text,
    n: fc.oneof(value, fc.record({ x: value }, { requiredKeys: [] })),
    "odd key": value,
    "x\"y": value
  },
  { requiredKeys: [] }
)
const docs = fc.array(doc, { maxLength: 12 })

const paths: ReadonlyArray<Ast.Path> = [["a"], ["b"], ["s"], ["n", "x"], ["n"], ["odd key"], ["x\"y"], ["missing"], ["a", "x"]]
const fieldArb = fc.constantFrom(...paths).map((p) => Ast.field(...p))
const constant: fc.Arbitrary<Ast.Expr> = fc.oneof(
  { weight: 4, arbitrary: scalar.filter((v): v is Ast.Scalar => typeof v !== "object" || v === null).map(Ast.literal) },
  fc.constantFrom(Ast.arg("x"), Ast.arg("nothing"), Ast.neg(Ast.literal(2)), Ast.arith("+", Ast.literal(1), Ast.arg("x")))
)
const pattern = fc.array(fc.constantFrom("%", "_", "a", "b", "A", "\\%", "\\_", "\\\\", "*", "?", "[", "]", "é", "😀", "\uffff"), { maxLength: 5 })
  .map((parts) => parts.join(""))
const args = fc.record({
  x: scalar,
  list: fc.array(scalar, { maxLength: 4 }),
  p: pattern
})

interface Pred {
  readonly expr: Ast.Expr
  /** built only from atoms `toSql` must accept */
  readonly pushable: boolean
}
const pushable = (expr: Ast.Expr): Pred => ({ expr, pushable: true })

const atom: fc.Arbitrary<Pred> = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(fc.constantFrom<Ast.CompareOp>("=", "!=", "<", "<=", ">", ">="), fieldArb, constant, fc.boolean())
    .map(([op, f, c, flip]) => pushable(flip ? Ast.compare(op, c, f) : Ast.compare(op, f, c))) },
  { weight: 2, arbitrary: fc.tuple(fieldArb, fc.array(constant, { maxLength: 4 }), fc.boolean())
    .map(([f, items, negated]) => pushable(Ast.isIn(f, Ast.array(items), negated))) },
  fc.tuple(fieldArb, fc.boolean()).map(([f, negated]) => pushable(Ast.isIn(f, Ast.arg("list"), negated))),
  { weight: 2, arbitrary: fc.tuple(fieldArb, fc.oneof(pattern.map(Ast.literal), fc.constant(Ast.arg("p"))), fc.boolean())
    .map(([f, p, negated]) => pushable(Ast.like(f, p, negated))) },
  fc.tuple(fieldArb, fc.constantFrom<"NULL" | "MISSING">("NULL", "MISSING"), fc.boolean())
    .map(([f, t, negated]) => pushable(Ast.is(f, t, negated))),
  fieldArb.map(pushable),
  fc.constantFrom(Ast.literal(true), Ast.literal(false), Ast.compare("=", Ast.arg("x"), Ast.literal(1))).map(pushable),
  // not pushable: two paths, arithmetic on a path, functions, object operands, IN <path>
  fc.constantFrom(
    e("a = b"),
    e("a + 1 > 2"),
    e("lower(s) = 'a'"),
    e("a = {x: 1}"),
    e("1 IN a"),
    e("a IN (1, [1])")
  ).map((expr): Pred => ({ expr, pushable: false }))
)

const pred: fc.Arbitrary<Pred> = fc.letrec<{ p: Pred }>((tie) => ({
  p: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    atom,
    tie("p").map((p) => ({ expr: Ast.not(p.expr), pushable: p.pushable })),
    fc.tuple(tie("p"), tie("p")).map(([l, r]) => ({ expr: Ast.and(l.expr, r.expr), pushable: l.pushable && r.pushable })),
    fc.tuple(tie("p"), tie("p")).map(([l, r]) => ({ expr: Ast.or(l.expr, r.expr), pushable: l.pushable && r.pushable }))
  )
})).p

// ---------------------------------------------------------------------------

describe("Dql.Sql pushdown agrees with the evaluator (real SQLite)", () => {
  it.prop("toSql(where) selects exactly the documents matches(where) accepts", { p: pred, docs, args }, ({ p, docs, args }) => {
    const fragment = Sql.toSql(p.expr, args, "visible_json")
    if (p.pushable) expect(fragment, printExpr(p.expr)).toBeDefined()
    if (fragment === undefined) return
    load(docs)
    expect(sqliteMatches(fragment), `${printExpr(p.expr)}\n${fragment.sql}`).toStrictEqual(tsMatches(p.expr, docs, args))
  }, { fastCheck: { numRuns: 3000 } })

  it.prop("split: pushed AND residual is the predicate; pushed is exact in SQLite", { p: pred, docs, args }, ({ p, docs, args }) => {
    const { pushed, residual } = Sql.split(p.expr, args)
    for (const part of [pushed, residual]) if (part !== undefined) expect(Ast.conjuncts(p.expr)).toEqual(expect.arrayContaining([...Ast.conjuncts(part)]))
    expect(Ast.conjuncts(p.expr).length).toBe((pushed ? Ast.conjuncts(pushed).length : 0) + (residual ? Ast.conjuncts(residual).length : 0))
    if (pushed === undefined) return
    const fragment = Sql.toSql(pushed, args, "visible_json")
    expect(fragment).toBeDefined()
    if (fragment === undefined) return
    load(docs)
    expect(sqliteMatches(fragment)).toStrictEqual(tsMatches(pushed, docs, args))
    const shape = Sql.split(p.expr)
    // without args the decision is on shape alone: everything pushed with args is pushed without
    expect(shape.pushed === undefined ? 0 : Ast.conjuncts(shape.pushed).length).toBeGreaterThanOrEqual(Ast.conjuncts(pushed).length)
  }, { fastCheck: { numRuns: 500 } })
})

describe("Dql.Sql", () => {
  it("splits top-level conjuncts", () => {
    const { pushed, residual } = Sql.split(e("a = 1 AND lower(s) = 'x' AND (b < :n OR s IS NULL) AND a = b"), { n: 3 })
    expect(pushed && printExpr(pushed)).toBe("a = 1 AND (b < :n OR s IS NULL)")
    expect(residual && printExpr(residual)).toBe("lower(s) = 'x' AND a = b")
    expect(Sql.split(e("a = :obj"), { obj: { x: 1 } }).pushed).toBeUndefined()
    expect(Sql.split(e("a = :obj")).pushed).toBeDefined()
    expect(Sql.split(e("lower(s) = 'x'")).pushed).toBeUndefined()
  })

  it("writes paths and parameters", () => {
    expect(Sql.toSql(e("a.b = 'x'"), {}, "visible_json")).toStrictEqual({
      sql: "(json_type(visible_json, '$.a.b') = 'text' AND json_extract(visible_json, '$.a.b') = ?)",
      params: ["x"]
    })
    expect(Sql.jsonPath(["a", "odd key", "it's", "q\"", "0"])).toBe(`$.a."odd key"."it's"."q\\""."0"`)
    expect(Sql.indexExpression(["it's"])).toBe(`json_extract(visible_json, '$."it''s"')`)
    expect(Sql.jsonPath(["a\u0000"])).toBeUndefined()
    expect(Sql.toSql(e("`a\u0000` = 1"), {}, "j")).toBeUndefined()
    expect(Sql.toGlob("a%b_c*d?e[f]\\%")).toBe("a*b?c[*]d[?]e[[]f]%")
  })

  it("constant predicates fold to 1 / 0", () => {
    expect(Sql.toSql(e(":x = 1 AND TRUE"), { x: 1 }, "j")?.sql).toBe("1")
    expect(Sql.toSql(e("a = 1 AND TRUE"), {}, "j")?.sql).toBe("((json_type(j, '$.a') IN ('integer', 'real') AND json_extract(j, '$.a') = ?) AND 1)")
    expect(Sql.toSql(e("a = null"), {}, "j")?.sql).toBe("0")
  })

  it("pushed comparisons use the index built from indexExpression", () => {
    db.exec("DELETE FROM docs")
    db.exec(`CREATE INDEX by_a ON docs (${Sql.indexExpression(["a"])})`)
    db.exec(`CREATE INDEX by_nx ON docs (${Sql.indexExpression(["n", "x"])})`)
    const plan = (where: string, args: Evaluate.Args = {}) => {
      const f = Sql.toSql(e(where), args, "visible_json")
      if (f === undefined) throw new Error("not pushed")
      return db.prepare<Array<string | number | null>, { detail: string }>(`EXPLAIN QUERY PLAN SELECT rowid FROM docs WHERE ${f.sql}`)
        .all(...f.params).map((r) => r.detail).join("; ")
    }
    expect(plan("a = 5")).toMatch(/USING INDEX by_a/)
    expect(plan("a > :x", { x: "m" })).toMatch(/USING INDEX by_a/)
    expect(plan("n.x IN (1, 2, 3)")).toMatch(/USING INDEX by_nx/)
    expect(plan("a = true")).toMatch(/SCAN/)
    expect(plan("n.x = 'k' AND lower = 2")).toMatch(/USING INDEX by_nx/)
    expect(plan("a IS NULL")).toMatch(/USING INDEX by_a/)
    db.exec("DROP INDEX by_a; DROP INDEX by_nx")
  })
})
