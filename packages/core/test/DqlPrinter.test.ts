import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import * as Either from "effect/Either"
import { Ast, parse, parseExpression, print, printExpr } from "../src/Dql/index.js"

// ---------------------------------------------------------------------------
// Arbitraries: every AST the parser can produce
// ---------------------------------------------------------------------------

const plainIdent = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,5}$/)
/** names of collections, fields, aliases, indexes: plain, keyword-like, or odd (backquoted) */
const name = fc.oneof(
  { weight: 4, arbitrary: plainIdent },
  fc.constantFrom("select", "FROM", "order", "Limit", "not", "null", "TRUE", "missing", "_id", "length", "lower", "desc"),
  fc.string({ minLength: 1, maxLength: 4, unit: "grapheme" }),
  fc.constantFrom("a b", "x`y", "a.b", "1st", "é", "--", "'q'", "[0]")
)
const path = fc.array(name, { minLength: 1, maxLength: 3 })
const argName = fc.oneof(plainIdent, fc.constantFrom("select", "where", "_1"))

const number = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Object.is(n, -0)),
  fc.constantFrom(0, 1e21, 1e-7, -1e300, 5e-324, Number.MAX_SAFE_INTEGER)
)
const scalar: fc.Arbitrary<Ast.Scalar> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  number,
  fc.string({ maxLength: 6, unit: "grapheme" }),
  fc.constantFrom("it's", "''", "-- not a comment", "/* nor this */", "line\nbreak", "`")
)

const leaf: fc.Arbitrary<Ast.Expr> = fc.oneof(
  scalar.map(Ast.literal),
  argName.map(Ast.arg),
  path.map((p) => Ast.field(...p))
)

const compareOp = fc.constantFrom<Ast.CompareOp>("=", "!=", "<", "<=", ">", ">=")
const arithOp = fc.constantFrom<Ast.ArithOp>("+", "-", "*", "/", "%")

const { expr } = fc.letrec<{ expr: Ast.Expr }>((tie) => {
  const e = tie("expr")
  const call = fc.oneof(
    fc.tuple(fc.constantFrom<Ast.FunctionName>("length", "lower", "upper", "abs"), e).map(([n, x]) => Ast.call(n, [x])),
    fc.array(e, { minLength: 1, maxLength: 3 }).map((xs) => Ast.call("coalesce", xs))
  )
  const list: fc.Arbitrary<Ast.ArrayLit | Ast.Arg | Ast.Field> = fc.oneof(
    fc.array(e, { maxLength: 3 }).map(Ast.array),
    argName.map(Ast.arg),
    path.map((p) => Ast.field(...p))
  )
  return {
    expr: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      leaf,
      fc.uniqueArray(fc.tuple(fc.string({ maxLength: 4 }), e), { maxLength: 3, selector: ([k]) => k })
        .map((fields) => Ast.object(fields.map(([key, value]) => ({ key, value })))),
      fc.array(e, { maxLength: 3 }).map(Ast.array),
      call,
      e.map(Ast.not),
      e.map(Ast.neg),
      fc.tuple(e, e).map(([l, r]) => Ast.and(l, r)),
      fc.tuple(e, e).map(([l, r]) => Ast.or(l, r)),
      fc.tuple(compareOp, e, e).map(([op, l, r]) => Ast.compare(op, l, r)),
      fc.tuple(arithOp, e, e).map(([op, l, r]) => Ast.arith(op, l, r)),
      fc.tuple(e, list, fc.boolean()).map(([x, l, n]) => Ast.isIn(x, l, n)),
      fc.tuple(e, e, fc.boolean()).map(([x, p, n]) => Ast.like(x, p, n)),
      fc.tuple(e, fc.constantFrom<"NULL" | "MISSING">("NULL", "MISSING"), fc.boolean()).map(([x, t, n]) => Ast.is(x, t, n))
    )
  }
})

const optional = <A>(arb: fc.Arbitrary<A>): fc.Arbitrary<A | undefined> => fc.option(arb, { nil: undefined })
const count: fc.Arbitrary<Ast.Count> = fc.oneof(fc.nat(), argName.map(Ast.arg))

const select: fc.Arbitrary<Ast.Select> = fc
  .record({
    collection: name,
    projection: fc.oneof(
      fc.constant<"*">("*"),
      fc.array(
        fc.tuple(expr, optional(name)).map(([e, alias]): Ast.Projection => (alias === undefined ? { expr: e } : { expr: e, alias })),
        { minLength: 1, maxLength: 3 }
      )
    ),
    where: optional(expr),
    orderBy: fc.array(fc.record({ expr, direction: fc.constantFrom<Ast.Direction>("ASC", "DESC") }), { maxLength: 3 }),
    limit: optional(count),
    offset: optional(count)
  })
  .map(({ limit, offset, where, ...rest }): Ast.Select => ({
    _tag: "Select",
    ...rest,
    ...(where === undefined ? {} : { where }),
    ...(limit === undefined ? {} : { limit }),
    ...(offset === undefined ? {} : { offset })
  }))

const objectLit = fc.uniqueArray(fc.tuple(fc.string({ maxLength: 4 }), expr), { maxLength: 3, selector: ([k]) => k })
  .map((fields) => Ast.object(fields.map(([key, value]) => ({ key, value }))))

const insert: fc.Arbitrary<Ast.Insert> = fc.record({
  collection: name,
  documents: fc.array(fc.oneof(argName.map(Ast.arg), objectLit), { minLength: 1, maxLength: 3 }),
  onConflict: fc.constantFrom<Ast.OnConflict>("FAIL", "DO NOTHING", "DO UPDATE")
}).map((r): Ast.Insert => ({ _tag: "Insert", ...r }))

/** UPDATE targets must not overlap: give each a distinct first segment */
const update: fc.Arbitrary<Ast.Update> = fc
  .tuple(
    name,
    fc.uniqueArray(name, { minLength: 1, maxLength: 6 }).chain((heads) =>
      fc.tuple(...heads.map((h) => fc.tuple(fc.array(name, { maxLength: 2 }), fc.nat(2), expr).map(([rest, kind, e]) => ({ path: [h, ...rest], kind, e }))))
    ),
    optional(expr)
  )
  .map(([collection, targets, where]): Ast.Update => ({
    _tag: "Update",
    collection,
    set: targets.filter((t) => t.kind === 0).map((t) => ({ path: t.path, expr: t.e })),
    unset: targets.filter((t) => t.kind === 1).map((t) => t.path),
    apply: targets.filter((t) => t.kind === 2).map((t) => ({ path: t.path, by: t.e })),
    ...(where === undefined ? {} : { where })
  }))

const removal = (tag: "Delete" | "Evict"): fc.Arbitrary<Ast.Statement> =>
  fc.tuple(name, optional(expr)).map(([collection, where]) =>
    where === undefined ? { _tag: tag, collection } : { _tag: tag, collection, where }
  )

const statement: fc.Arbitrary<Ast.Statement> = fc.oneof(
  select,
  insert,
  update,
  removal("Delete"),
  removal("Evict"),
  fc.record({ name, collection: name, path, ifNotExists: fc.boolean() }).map((r): Ast.Statement => ({ _tag: "CreateIndex", ...r })),
  fc.record({ name, ifExists: fc.boolean() }).map((r): Ast.Statement => ({ _tag: "DropIndex", ...r })),
  select.map((s): Ast.Statement => ({ _tag: "Explain", statement: s }))
)

// ---------------------------------------------------------------------------

const reparse = (text: string): Ast.Statement => {
  const r = parse(text)
  if (Either.isLeft(r)) throw new Error(`${r.left.message}\n  in: ${text}`)
  return r.right
}

describe("Dql.Printer", () => {
  it.prop("parse(print(ast)) = ast, and printing is stable", { ast: statement }, ({ ast }) => {
    const text = print(ast)
    const back = reparse(text)
    expect(back).toStrictEqual(ast)
    expect(print(back)).toBe(text)
  }, { fastCheck: { numRuns: 1000 } })

  it.prop("parseExpression(printExpr(e)) = e", { e: expr }, ({ e }) => {
    const r = parseExpression(printExpr(e))
    expect(Either.getOrThrowWith(r, (err) => new Error(`${err.message}\n  in: ${printExpr(e)}`))).toStrictEqual(e)
  }, { fastCheck: { numRuns: 1000 } })

  it("uses parentheses only where needed", () => {
    const p = (text: string) => printExpr(Either.getOrThrow(parseExpression(text)))
    expect(p("a = 1 AND (b = 2 OR c = 3)")).toBe("a = 1 AND (b = 2 OR c = 3)")
    expect(p("(a = 1 AND b = 2) OR c = 3")).toBe("a = 1 AND b = 2 OR c = 3")
    expect(p("a - (b - c)")).toBe("a - (b - c)")
    expect(p("(a - b) - c")).toBe("a - b - c")
    expect(p("-(a + b) * 2")).toBe("-(a + b) * 2")
    expect(p("NOT (a AND b)")).toBe("NOT (a AND b)")
    expect(p("(NOT a) = b")).toBe("(NOT a) = b")
    expect(p("- -a")).toBe("-(-a)")
    expect(p("-(5)")).toBe("-(5)")
    expect(p("a - -5")).toBe("a - -5")
    expect(p("`order` = 1 AND `a b`.c IN (1, 2)")).toBe("`order` = 1 AND `a b`.c IN (1, 2)")
  })

  it("prints statements in canonical form", () => {
    expect(print(reparse("select a as `x y`, b from c where a == 1 order by a limit :n")))
      .toBe("SELECT a AS `x y`, b FROM c WHERE a = 1 ORDER BY a ASC LIMIT :n")
    expect(print(reparse("insert into c documents :d, ({ a: 'x' }) on id conflict fail")))
      .toBe(`INSERT INTO c DOCUMENTS (:d), ({"a": 'x'})`)
    expect(print(reparse("update c apply n pn_increment by 2 unset x set a = a <> b")))
      .toBe("UPDATE c SET a = a != b UNSET x APPLY n PN_INCREMENT BY 2")
  })
})
