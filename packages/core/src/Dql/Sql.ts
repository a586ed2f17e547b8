/**
 * WHERE pushdown to SQLite. Documents are stored as JSON text in one column;
 * a predicate is pushed only when SQLite, reading that text with
 * `json_extract` / `json_type`, gives exactly the answer `Evaluate.matches`
 * gives (property-tested against a real SQLite).
 *
 * Pushed: a field path compared with a constant scalar (a literal, an
 * argument, or any expression without field paths), `IN` a constant list of
 * scalars, `LIKE` a constant pattern, `IS [NOT] NULL|MISSING`, a bare path
 * (`WHERE done` — holds iff it is `true`), and AND / OR / NOT of those.
 * Everything else (two paths, arithmetic or functions on a path, objects and
 * arrays as operands, `IN <path>`) stays in TypeScript: `split` separates the
 * pushable top-level conjuncts from the rest.
 *
 * Exactness rules:
 * - every comparison is guarded by `json_type`, so a number is never compared
 *   with a string, and `true` (which `json_extract` returns as 1) never equals 1;
 * - SQL NULL only ever means "false here": under NOT a predicate is wrapped in
 *   `coalesce(…, 0)`, so SQL's three-valued logic collapses to DQL's two-valued;
 * - LIKE becomes GLOB (case-sensitive, one `?` = one character like `_`).
 *   SQLite stops reading a string at U+0000, so a value containing U+0000 may
 *   match differently; a pattern containing it is not pushed.
 *
 * The path expression is written exactly as `indexExpression` writes it, so
 * that SQLite's planner matches an expression index built from it.
 */
import type { Json } from "../Json.js"
import * as Ast from "./Ast.js"
import { type Args, compareWith, evalExpr, holds, parseLikePattern } from "./Evaluate.js"

export interface SqlFragment {
  readonly sql: string
  readonly params: Array<string | number | null>
}

/** The SQLite JSON path of a field path (`$.a."odd key"`); `undefined` if a segment contains U+0000. */
export const jsonPath = (path: Ast.Path): string | undefined => {
  let out = "$"
  for (const segment of path) {
    if (segment.includes("\u0000")) return undefined
    out += /^[A-Za-z_][A-Za-z0-9_]*$/.test(segment) ? `.${segment}` : `.${JSON.stringify(segment)}`
  }
  return out
}

const sqlString = (s: string): string => `'${s.replaceAll("'", "''")}'`

/**
 * `json_extract(visible_json, '$.a.b')`: the expression to build an index on
 * for `CREATE INDEX … (a.b)`. Pushed predicates use the identical text, which
 * is what SQLite's planner needs to use the index. (A path with U+0000 in a
 * segment gets an index no query will use.)
 */
export const indexExpression = (path: Ast.Path, column = "visible_json"): string =>
  `json_extract(${column}, ${sqlString(jsonPath(path) ?? jsonPath(path.map((s) => s.replaceAll("\u0000", ""))) ?? "$")})`

/**
 * Translate a predicate into SQL over the JSON text `column`, or `undefined`
 * when part of it cannot be pushed exactly. The SQL is true exactly for the
 * rows where `Evaluate.matches(expr, doc, args)` is (false or NULL otherwise).
 * `column` is inserted verbatim.
 */
export const toSql = (expr: Ast.Expr, args: Args, column: string): SqlFragment | undefined => {
  const out = translate(expr, { args, column })
  return out === undefined ? undefined : { sql: out.sql, params: [...out.params] }
}

/**
 * Split the top-level AND conjuncts of `expr` into those SQLite can evaluate
 * (`pushed`) and the rest (`residual`); `pushed AND residual` means `expr`.
 * With `args`, `toSql(pushed, args, column)` is guaranteed to be defined.
 * Without, the decision is made on the shape alone, assuming every argument
 * is a scalar (a list for IN, a string for LIKE); `toSql` may then still
 * answer `undefined` for the actual arguments.
 */
export const split = (
  expr: Ast.Expr,
  args?: Args
): { readonly pushed: Ast.Expr | undefined; readonly residual: Ast.Expr | undefined } => {
  const pushed: Array<Ast.Expr> = []
  const residual: Array<Ast.Expr> = []
  for (const c of Ast.conjuncts(expr)) {
    ;(translate(c, { args, column: "c" }) === undefined ? residual : pushed).push(c)
  }
  return { pushed: Ast.conjunction(pushed), residual: Ast.conjunction(residual) }
}

// ---------------------------------------------------------------------------

interface Env {
  /** `undefined`: arguments unknown (shape-only decision, SQL text not used) */
  readonly args: Args | undefined
  readonly column: string
}

interface Frag {
  readonly sql: string
  readonly params: ReadonlyArray<string | number | null>
}

const TRUE: Frag = { sql: "1", params: [] }
const FALSE: Frag = { sql: "0", params: [] }
/** stands for any pushable fragment when arguments are unknown */
const UNKNOWN_FRAG: Frag = { sql: "?", params: [null] }

const Unknown: unique symbol = Symbol("Unknown")
type Constant = Json | undefined | typeof Unknown

const frag = (sql: string, ...params: ReadonlyArray<string | number | null>): Frag => ({ sql, params })

const hasField = (e: Ast.Expr): boolean => {
  switch (e._tag) {
    case "Field":
      return true
    case "Literal":
    case "Arg":
      return false
    case "ObjectLit":
      return e.fields.some((f) => hasField(f.value))
    case "ArrayLit":
      return e.items.some(hasField)
    case "Call":
      return e.args.some(hasField)
    case "Not":
    case "Neg":
      return hasField(e.expr)
    case "And":
    case "Or":
    case "Compare":
    case "Arith":
      return hasField(e.left) || hasField(e.right)
    case "In":
      return hasField(e.expr) || hasField(e.list)
    case "Like":
      return hasField(e.pattern) || hasField(e.expr)
    case "Is":
      return hasField(e.expr)
  }
}

/** The value of a field-free expression (`Unknown` when it needs arguments we do not have). */
const constant = (e: Ast.Expr, env: Env): Constant => {
  if (env.args === undefined) return Ast.exprArgNames(e).length > 0 ? Unknown : evalExpr(e, {}, {})
  return evalExpr(e, {}, env.args)
}

const and = (parts: ReadonlyArray<Frag>): Frag =>
  parts.length === 0 ? TRUE : parts.length === 1 ? parts[0]! : join(parts, " AND ")
const or = (parts: ReadonlyArray<Frag>): Frag =>
  parts.length === 0 ? FALSE : parts.length === 1 ? parts[0]! : join(parts, " OR ")
const join = (parts: ReadonlyArray<Frag>, sep: string): Frag => ({
  sql: `(${parts.map((p) => p.sql).join(sep)})`,
  params: parts.flatMap((p) => p.params)
})
const negate = (f: Frag): Frag => (f === TRUE ? FALSE : f === FALSE ? TRUE : frag(`NOT coalesce(${f.sql}, 0)`, ...f.params))

/** `json_type(col, '$.p')` and `json_extract(col, '$.p')` of a pushable path */
interface Target {
  readonly type: string
  readonly value: string
}

const target = (e: Ast.Expr, env: Env): Target | undefined => {
  if (e._tag !== "Field") return undefined
  const path = jsonPath(e.path)
  if (path === undefined) return undefined
  return { type: `json_type(${env.column}, ${sqlString(path)})`, value: indexExpression(e.path, env.column) }
}

const NUMBER_TYPES = "('integer', 'real')"

const translate = (e: Ast.Expr, env: Env): Frag | undefined => {
  if (!hasField(e)) {
    const value = constant(e, env)
    return value === Unknown ? UNKNOWN_FRAG : holds(value) ? TRUE : FALSE
  }
  switch (e._tag) {
    case "And":
    case "Or": {
      // flatten `a AND b AND c` into one level of parentheses
      const parts: Array<Frag> = []
      for (const operand of e._tag === "And" ? Ast.conjuncts(e) : disjuncts(e)) {
        const f = translate(operand, env)
        if (f === undefined) return undefined
        parts.push(f)
      }
      return e._tag === "And" ? and(parts) : or(parts)
    }
    case "Not": {
      const inner = translate(e.expr, env)
      return inner && negate(inner)
    }
    case "Field": {
      const t = target(e, env)
      return t && frag(`(${t.value} = 1 AND ${t.type} = 'true')`)
    }
    case "Is": {
      const t = target(e.expr, env)
      if (t === undefined) return undefined
      if (e.test === "MISSING") return frag(`${t.type} IS ${e.negated ? "NOT " : ""}NULL`)
      return e.negated ? frag(`${t.type} IS NOT 'null'`) : frag(`(${t.value} IS NULL AND ${t.type} = 'null')`)
    }
    case "Compare": {
      const lt = target(e.left, env)
      if (lt !== undefined && !hasField(e.right)) return comparison(lt, e.op, constant(e.right, env))
      const rt = target(e.right, env)
      if (rt !== undefined && !hasField(e.left)) return comparison(rt, flip[e.op], constant(e.left, env))
      return undefined
    }
    case "In": {
      const t = target(e.expr, env)
      if (t === undefined || hasField(e.list)) return undefined
      const list = constant(e.list, env)
      if (list === Unknown) return UNKNOWN_FRAG
      if (!Array.isArray(list)) return FALSE
      const items: ReadonlyArray<Json> = list
      if (items.some((item) => typeof item === "object" && item !== null)) return undefined
      return e.negated ? notIn(t, items) : isIn(t, items)
    }
    case "Like": {
      const t = target(e.expr, env)
      if (t === undefined || hasField(e.pattern)) return undefined
      const pattern = constant(e.pattern, env)
      if (pattern === Unknown) return UNKNOWN_FRAG
      if (typeof pattern !== "string") return FALSE
      if (pattern.includes("\u0000")) return undefined
      const glob = toGlob(pattern)
      return e.negated
        ? frag(`(${t.type} = 'text' AND NOT (${t.value} GLOB ?))`, glob)
        : frag(`(${t.type} = 'text' AND ${t.value} GLOB ?)`, glob)
    }
    default:
      return undefined
  }
}

const disjuncts = (e: Ast.Expr): ReadonlyArray<Ast.Expr> => (e._tag === "Or" ? [...disjuncts(e.left), ...disjuncts(e.right)] : [e])

const flip: Record<Ast.CompareOp, Ast.CompareOp> = { "=": "=", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<=" }

/** `path op value` for a constant `value` */
const comparison = (t: Target, op: Ast.CompareOp, value: Constant): Frag | undefined => {
  if (value === Unknown) return UNKNOWN_FRAG
  if (value === undefined || value === null) return FALSE
  if (typeof value === "number" || typeof value === "string") {
    const guard = typeof value === "number" ? `${t.type} IN ${NUMBER_TYPES}` : `${t.type} = 'text'`
    if (op === "!=") return frag(`(${t.type} <> 'null' AND NOT (${guard} AND ${t.value} = ?))`, value)
    return frag(`(${guard} AND ${t.value} ${op} ?)`, value)
  }
  if (typeof value === "boolean") {
    // the booleans b for which `b op value` holds; any non-boolean other than null satisfies `!=`
    const bools = [false, true].filter((b) => compareWith(op, b, value))
    const names = bools.map((b) => `'${b}'`)
    if (op === "!=") return frag(`${t.type} NOT IN ('null', '${value}')`)
    if (names.length === 0) return FALSE
    return names.length === 1 ? frag(`${t.type} = ${names[0]}`) : frag(`${t.type} IN (${names.join(", ")})`)
  }
  // objects and arrays: only `=`/`!=` could hold, and those are not pushed
  return op === "=" || op === "!=" ? undefined : FALSE
}


/** `path IN (scalars…)`: equal to one of them (null items never match) */
const isIn = (t: Target, items: ReadonlyArray<Json>): Frag => {
  const numbers = items.filter((i): i is number => typeof i === "number")
  const strings = items.filter((i): i is string => typeof i === "string")
  const bools = [...new Set(items.filter((i): i is boolean => typeof i === "boolean"))]
  const parts: Array<Frag> = []
  const placeholders = (n: number) => Array.from({ length: n }, () => "?").join(", ")
  if (numbers.length > 0) {
    parts.push(frag(`(${t.type} IN ${NUMBER_TYPES} AND ${t.value} IN (${placeholders(numbers.length)}))`, ...numbers))
  }
  if (strings.length > 0) {
    parts.push(frag(`(${t.type} = 'text' AND ${t.value} IN (${placeholders(strings.length)}))`, ...strings))
  }
  if (bools.length > 0) parts.push(frag(`${t.type} IN (${bools.map((b) => `'${b}'`).join(", ")})`))
  return or(parts)
}

/** `path NOT IN (scalars…)`: present, not null, and different from every item (false if an item is null) */
const notIn = (t: Target, items: ReadonlyArray<Json>): Frag => {
  if (items.length === 0) return TRUE
  if (items.some((i) => i === null)) return FALSE
  const inner = isIn(t, items)
  return frag(`(${t.type} <> 'null' AND NOT coalesce(${inner.sql}, 0))`, ...inner.params)
}

/** LIKE pattern → GLOB pattern (`*`, `?`, `[` escaped as classes) */
export const toGlob = (pattern: string): string =>
  parseLikePattern(pattern)
    .map((item) => {
      if (item === "%") return "*"
      if (item === "_") return "?"
      const c = item.char
      return c === "*" || c === "?" || c === "[" ? `[${c}]` : c
    })
    .join("")
