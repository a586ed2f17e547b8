import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { Ast, type DqlSyntaxError, parse, parseEffect, parseExpression } from "../src/Dql/index.js"

const ok = (text: string): Ast.Statement => {
  const r = parse(text)
  if (Either.isLeft(r)) throw new Error(r.left.message)
  return r.right
}

const expr = (text: string): Ast.Expr => {
  const r = parseExpression(text)
  if (Either.isLeft(r)) throw new Error(r.left.message)
  return r.right
}

const err = (text: string): DqlSyntaxError => {
  const r = parse(text)
  if (Either.isRight(r)) throw new Error(`expected a syntax error for ${text}`)
  return r.left
}

const { and, arg, arith, call, compare, field, is, isIn, like, literal, neg, not, or } = Ast

describe("Dql.Parser statements", () => {
  it("SELECT * with WHERE, ORDER BY, LIMIT, OFFSET", () => {
    expect(ok("SELECT * FROM tasks WHERE done = false ORDER BY due DESC, title LIMIT 10 OFFSET :skip")).toStrictEqual({
      _tag: "Select",
      collection: "tasks",
      projection: "*",
      where: compare("=", field("done"), literal(false)),
      orderBy: [
        { expr: field("due"), direction: "DESC" },
        { expr: field("title"), direction: "ASC" }
      ],
      limit: 10,
      offset: arg("skip")
    } satisfies Ast.Select)
  })

  it("SELECT fields with aliases; keywords are case-insensitive", () => {
    expect(ok("select a.b, `odd name`, price * 2 as double from items")).toStrictEqual({
      _tag: "Select",
      collection: "items",
      projection: [
        { expr: field("a", "b") },
        { expr: field("odd name") },
        { expr: arith("*", field("price"), literal(2)), alias: "double" }
      ],
      orderBy: []
    } satisfies Ast.Select)
  })

  it("INSERT with args, object literals and ON ID CONFLICT", () => {
    expect(ok(`INSERT INTO cars DOCUMENTS (:doc), ({ "_id": 'x', color: :c, tags: [1, 'two'] }) ON ID CONFLICT DO UPDATE`))
      .toStrictEqual({
        _tag: "Insert",
        collection: "cars",
        documents: [
          arg("doc"),
          Ast.object([
            { key: "_id", value: literal("x") },
            { key: "color", value: arg("c") },
            { key: "tags", value: Ast.array([literal(1), literal("two")]) }
          ])
        ],
        onConflict: "DO UPDATE"
      } satisfies Ast.Insert)
    const insert = (text: string) => {
      const s = ok(text)
      return s._tag === "Insert" ? s.onConflict : undefined
    }
    expect(insert("INSERT INTO c DOCUMENTS (:d)")).toBe("FAIL")
    expect(insert("INSERT INTO c DOCUMENTS (:d) ON ID CONFLICT FAIL")).toBe("FAIL")
    expect(insert("insert into c documents (:d) on id conflict do nothing")).toBe("DO NOTHING")
  })

  it("UPDATE with SET, UNSET, APPLY and WHERE", () => {
    expect(ok("UPDATE c SET a = :v, b.c = 1, n = n + 1 UNSET x, y.z APPLY counter PN_INCREMENT BY 1 WHERE _id = 'k'"))
      .toStrictEqual({
        _tag: "Update",
        collection: "c",
        set: [
          { path: ["a"], expr: arg("v") },
          { path: ["b", "c"], expr: literal(1) },
          { path: ["n"], expr: arith("+", field("n"), literal(1)) }
        ],
        unset: [["x"], ["y", "z"]],
        apply: [{ path: ["counter"], by: literal(1) }],
        where: compare("=", field("_id"), literal("k"))
      } satisfies Ast.Update)
  })

  it("DELETE and EVICT", () => {
    expect(ok("DELETE FROM c WHERE a IS MISSING")).toStrictEqual({
      _tag: "Delete",
      collection: "c",
      where: is(field("a"), "MISSING")
    })
    expect(ok("EVICT FROM c WHERE age > 30;")).toStrictEqual({
      _tag: "Evict",
      collection: "c",
      where: compare(">", field("age"), literal(30))
    })
    expect(ok("DELETE FROM c")).toStrictEqual({ _tag: "Delete", collection: "c" })
  })

  it("CREATE INDEX, DROP INDEX and EXPLAIN", () => {
    expect(ok("CREATE INDEX IF NOT EXISTS by_owner ON tasks (owner.name)")).toStrictEqual({
      _tag: "CreateIndex",
      name: "by_owner",
      collection: "tasks",
      path: ["owner", "name"],
      ifNotExists: true
    })
    expect(ok("create index i on c (`a b`)")).toStrictEqual({
      _tag: "CreateIndex",
      name: "i",
      collection: "c",
      path: ["a b"],
      ifNotExists: false
    })
    expect(ok("DROP INDEX IF EXISTS i")).toStrictEqual({ _tag: "DropIndex", name: "i", ifExists: true })
    expect(ok("EXPLAIN SELECT * FROM c WHERE a = 1")).toStrictEqual({
      _tag: "Explain",
      statement: {
        _tag: "Select",
        collection: "c",
        projection: "*",
        where: compare("=", field("a"), literal(1)),
        orderBy: []
      }
    })
  })

  it.effect("parseEffect succeeds and fails in the Effect channel", () =>
    Effect.gen(function*() {
      const s = yield* parseEffect("DELETE FROM c")
      expect(s._tag).toBe("Delete")
      const e = yield* Effect.flip(parseEffect("DELETE c"))
      expect(e._tag).toBe("DqlSyntaxError")
    }))
})

describe("Dql.Parser expressions", () => {
  it("precedence: OR < AND < NOT < comparison < additive < multiplicative < unary", () => {
    expect(expr("a = 1 OR b = 2 AND NOT c = 3")).toStrictEqual(
      or(compare("=", field("a"), literal(1)), and(compare("=", field("b"), literal(2)), not(compare("=", field("c"), literal(3)))))
    )
    expect(expr("a + b * -c - d % 2 > 1")).toStrictEqual(
      compare(
        ">",
        arith("-", arith("+", field("a"), arith("*", field("b"), neg(field("c")))), arith("%", field("d"), literal(2))),
        literal(1)
      )
    )
    expect(expr("(a OR b) AND c")).toStrictEqual(and(or(field("a"), field("b")), field("c")))
    expect(expr("a - b - c")).toStrictEqual(arith("-", arith("-", field("a"), field("b")), field("c")))
  })

  it("literals, args, paths", () => {
    expect(expr("'it''s'")).toStrictEqual(literal("it's"))
    expect(expr(`"json \\"quoted\\" \\u00e9"`)).toStrictEqual(literal(`json "quoted" é`))
    expect(expr("-12.5e2")).toStrictEqual(literal(-1250))
    expect(expr("-(5)")).toStrictEqual(neg(literal(5)))
    expect(expr("TRUE")).toStrictEqual(literal(true))
    expect(expr("null")).toStrictEqual(literal(null))
    expect(expr(":arg_1")).toStrictEqual(arg("arg_1"))
    expect(expr("a.b['c d'].`e``f`")).toStrictEqual(field("a", "b", "c d", "e`f"))
    expect(expr("_id.order.limit")).toStrictEqual(field("_id", "order", "limit"))
    expect(expr("{}")).toStrictEqual(Ast.object([]))
    expect(expr("[]")).toStrictEqual(Ast.array([]))
  })

  it("comparison operators, == and <> are normalised", () => {
    for (const [text, op] of [["=", "="], ["==", "="], ["!=", "!="], ["<>", "!="], ["<", "<"], ["<=", "<="], [">", ">"], [">=", ">="]] as const) {
      expect(expr(`a ${text} 1`)).toStrictEqual(compare(op, field("a"), literal(1)))
    }
  })

  it("IN, NOT IN, LIKE, NOT LIKE, IS [NOT] NULL/MISSING", () => {
    expect(expr("a IN (1, 'x')")).toStrictEqual(isIn(field("a"), Ast.array([literal(1), literal("x")])))
    expect(expr("a NOT IN :list")).toStrictEqual(isIn(field("a"), arg("list"), true))
    expect(expr("'admin' IN roles")).toStrictEqual(isIn(literal("admin"), field("roles")))
    expect(expr("a in [1]")).toStrictEqual(isIn(field("a"), Ast.array([literal(1)])))
    expect(expr("a IN ()")).toStrictEqual(isIn(field("a"), Ast.array([])))
    expect(expr("name LIKE 'a%'")).toStrictEqual(like(field("name"), literal("a%")))
    expect(expr("name NOT LIKE :p")).toStrictEqual(like(field("name"), arg("p"), true))
    expect(expr("a IS NULL")).toStrictEqual(is(field("a"), "NULL"))
    expect(expr("a IS NOT NULL")).toStrictEqual(is(field("a"), "NULL", true))
    expect(expr("a is missing")).toStrictEqual(is(field("a"), "MISSING"))
    expect(expr("a IS NOT MISSING")).toStrictEqual(is(field("a"), "MISSING", true))
    expect(expr("NOT a IN (1)")).toStrictEqual(not(isIn(field("a"), Ast.array([literal(1)]))))
  })

  it("functions", () => {
    expect(expr("LOWER(name) = 'x'")).toStrictEqual(compare("=", call("lower", [field("name")]), literal("x")))
    expect(expr("coalesce(a, b, 0)")).toStrictEqual(call("coalesce", [field("a"), field("b"), literal(0)]))
    expect(expr("length")).toStrictEqual(field("length"))
  })

  it("comments and whitespace", () => {
    expect(ok("SELECT * -- all of it\nFROM /* the */ c")).toStrictEqual({
      _tag: "Select",
      collection: "c",
      projection: "*",
      orderBy: []
    })
  })
})

describe("Dql.Parser errors", () => {
  it("names the expected token, the position and what was found", () => {
    const e = err("SELECT * FORM c")
    expect(e.message).toBe("expected FROM after projection at line 1, column 10, found 'FORM'")
    expect({ line: e.line, column: e.column, token: e.token }).toStrictEqual({ line: 1, column: 10, token: "FORM" })
  })

  it("reports line and column on multi-line input", () => {
    const e = err("SELECT *\nFROM tasks\nWHERE done = false\n  AND priority >\nORDER BY due")
    expect(e.message).toBe("expected an expression after '>' at line 5, column 1, found 'ORDER'")
    expect([e.line, e.column, e.token]).toStrictEqual([5, 1, "ORDER"])
    const f = err("SELECT *\r\n  FROM c\r\n  WHERE a = 'open")
    expect([f.line, f.column]).toStrictEqual([3, 13])
    expect(f.message).toMatch(/^unterminated string at line 3, column 13/)
    const g = err("UPDATE c\n\tSET a = 1,\n\t    a.b = 2")
    expect([g.line, g.column, g.token]).toStrictEqual([3, 6, "a"])
  })

  it("end of input", () => {
    const e = err("SELECT * FROM c WHERE")
    expect(e.message).toBe("expected an expression after 'WHERE' at line 1, column 22, found end of input")
    expect(e.token).toBe("")
  })

  it.each([
    ["SELEC * FROM c", "expected SELECT, INSERT, UPDATE, DELETE, EVICT, CREATE, DROP or EXPLAIN at line 1, column 1, found 'SELEC'"],
    ["SELECT * FROM c LIMIT -1", "LIMIT expects a non-negative integer or an :argument at line 1, column 23, found '-'"],
    ["SELECT * FROM c LIMIT 1.5", "LIMIT expects a non-negative integer or an :argument at line 1, column 23, found '1.5'"],
    ["SELECT * FROM c WHERE a = b = c", "expected end of statement at line 1, column 29, found '='"],
    ["SELECT * FROM c WHERE nope(a)", "unknown function nope (known: length, lower, upper, abs, coalesce) at line 1, column 23, found 'nope'"],
    ["SELECT * FROM c WHERE lower(a, b)", "lower takes 1 argument at line 1, column 23, found 'lower'"],
    ["SELECT * FROM c WHERE a IS 1", "expected NULL or MISSING after IS at line 1, column 28, found '1'"],
    ["SELECT * FROM c WHERE (a = 1", "expected ')' to close '(' at line 1, column 29, found end of input"],
    ["SELECT * FROM c WHERE a = 1x", "invalid number at line 1, column 27, found '1x'"],
    ["SELECT * FROM c WHERE a = #", "unexpected character at line 1, column 27, found '#'"],
    ["INSERT INTO c DOCUMENTS ({a: 1, a: 2})", "duplicate key \"a\" in object literal at line 1, column 33, found 'a'"],
    ["INSERT INTO c DOCUMENTS ({a:b})", "expected ':' after key 'a' (write ': :name' for an argument) at line 1, column 28, found ':b'"],
    ["INSERT INTO c DOCUMENTS (1)", "expected a document ({…} or :argument) after '(' at line 1, column 26, found '1'"],
    ["INSERT INTO c DOCUMENTS (:d) ON ID CONFLICT IGNORE", "expected FAIL, DO NOTHING or DO UPDATE after ON ID CONFLICT at line 1, column 45, found 'IGNORE'"],
    ["UPDATE c WHERE a = 1", "expected SET, UNSET or APPLY after collection name at line 1, column 10, found 'WHERE'"],
    ["UPDATE c SET a = 1 UNSET a", "path a overlaps a in the same UPDATE at line 1, column 26, found 'a'"],
    ["UPDATE c APPLY n PN_INCREMENT 1", "expected BY after PN_INCREMENT at line 1, column 31, found '1'"],
    ["CREATE INDEX i ON c a", "expected '(' after collection name at line 1, column 21, found 'a'"],
    ["EXPLAIN DELETE FROM c", "expected SELECT after EXPLAIN at line 1, column 9, found 'DELETE'"],
    ["SELECT * FROM c WHERE `` = 1", "empty identifier at line 1, column 23, found '``'"],
    ["DELETE FROM c WHERE a = 1; x", "expected end of statement at line 1, column 28, found 'x'"]
  ])("%s", (text, message) => {
    expect(err(text).message).toBe(message)
  })

  it("deep nesting is an error, not a stack overflow", () => {
    const deep = "(".repeat(10_000) + "1" + ")".repeat(10_000)
    expect(Either.isLeft(parseExpression(deep))).toBe(true)
    expect(Either.isLeft(parseExpression("NOT ".repeat(10_000) + "a"))).toBe(true)
    expect(Either.isLeft(parseExpression("- ".repeat(10_000) + "a"))).toBe(true)
    expect(Either.isLeft(parseExpression("[".repeat(10_000)))).toBe(true)
    expect(Either.isRight(parseExpression("(".repeat(50) + "1" + ")".repeat(50)))).toBe(true)
  })

  it("DqlSyntaxError is a tagged, yieldable error", () => {
    const e = err("SELECT")
    expect(e._tag).toBe("DqlSyntaxError")
    expect(e).toBeInstanceOf(Error)
  })
})
