/**
 * Evaluation of DQL over plain JSON documents. Pure and total: no input
 * makes it throw.
 *
 * - `undefined` stands for MISSING (an absent field, or an absent argument).
 * - Comparisons (`= != < <= > >=`, `IN`, `LIKE`) with MISSING or NULL on
 *   either side are false — both `a = 1` and `a != 1` are false when `a` is
 *   null or missing. `=` is structural on objects and arrays. `< <= > >=`
 *   hold only between two numbers, two strings (code point order) or two
 *   booleans (false < true).
 * - Logic is two-valued: a condition holds iff it evaluates to `true`.
 * - Arithmetic needs two numbers (else null; MISSING if an operand is
 *   missing); division or remainder by zero gives null.
 */
import * as Either from "effect/Either"
import { equals, isObject, type Json, type JsonObject } from "../Json.js"
import * as Ast from "./Ast.js"
import { DqlArgumentError } from "./Errors.js"

export type Args = Readonly<Record<string, Json>>

/** The value of `:name`, or `undefined` when it is not supplied. */
export const argValue = (args: Args, name: string): Json | undefined =>
  Object.hasOwn(args, name) ? args[name] : undefined

/** Follow `path` through nested objects; `undefined` (MISSING) when any step is absent or not an object. */
export const getPath = (value: Json | undefined, path: Ast.Path): Json | undefined => {
  let current = value
  for (const segment of path) {
    if (!isObject(current) || !Object.hasOwn(current, segment)) return undefined
    current = current[segment]
  }
  return current
}

/** Evaluate an expression against a document; `undefined` is MISSING. */
export const evalExpr = (expr: Ast.Expr, doc: JsonObject, args: Args): Json | undefined => {
  const ev = (e: Ast.Expr): Json | undefined => {
    switch (e._tag) {
      case "Literal":
        return e.value
      case "Arg":
        return argValue(args, e.name)
      case "Field":
        return getPath(doc, e.path)
      case "ObjectLit":
        return Object.fromEntries(
          e.fields.flatMap((f): Array<[string, Json]> => {
            const v = ev(f.value)
            return v === undefined ? [] : [[f.key, v]]
          })
        )
      case "ArrayLit":
        return e.items.map((item) => ev(item) ?? null)
      case "Call":
        return call(e.name, e.args.map(ev))
      case "Not":
        return !holds(ev(e.expr))
      case "Neg": {
        const v = ev(e.expr)
        return v === undefined ? undefined : typeof v === "number" ? normalize(-v) : null
      }
      case "And":
        return holds(ev(e.left)) && holds(ev(e.right))
      case "Or":
        return holds(ev(e.left)) || holds(ev(e.right))
      case "Compare":
        return compareWith(e.op, ev(e.left), ev(e.right))
      case "Arith":
        return arith(e.op, ev(e.left), ev(e.right))
      case "In": {
        const value = ev(e.expr)
        const list = ev(e.list)
        if (!Array.isArray(list)) return false
        return e.negated
          ? list.every((item) => compareWith("!=", value, item))
          : list.some((item) => compareWith("=", value, item))
      }
      case "Like": {
        const value = ev(e.expr)
        const pattern = ev(e.pattern)
        if (typeof value !== "string" || typeof pattern !== "string") return false
        return like(value, pattern) !== e.negated
      }
      case "Is": {
        const value = ev(e.expr)
        const result = e.test === "NULL" ? value === null : value === undefined
        return result !== e.negated
      }
    }
  }
  return ev(expr)
}

/** A condition holds iff its value is `true` (MISSING, null, 1, 'yes' do not). */
export const holds = (value: Json | undefined): boolean => value === true

/** Does `doc` satisfy `where`? No predicate matches everything. */
export const matches = (where: Ast.Expr | undefined, doc: JsonObject, args: Args): boolean =>
  where === undefined || holds(evalExpr(where, doc, args))

const normalize = (n: number): Json => (Number.isFinite(n) ? (n === 0 ? 0 : n) : null)

const arith = (op: Ast.ArithOp, l: Json | undefined, r: Json | undefined): Json | undefined => {
  if (l === undefined || r === undefined) return undefined
  if (typeof l !== "number" || typeof r !== "number") return null
  switch (op) {
    case "+":
      return normalize(l + r)
    case "-":
      return normalize(l - r)
    case "*":
      return normalize(l * r)
    case "/":
      return r === 0 ? null : normalize(l / r)
    case "%":
      return r === 0 ? null : normalize(l % r)
  }
}

const call = (name: Ast.FunctionName, args: ReadonlyArray<Json | undefined>): Json | undefined => {
  const x = args[0]
  switch (name) {
    case "coalesce":
      return args.find((a) => a !== undefined && a !== null) ?? null
    case "length":
      if (x === undefined) return undefined
      if (typeof x === "string") return codePoints(x).length
      if (Array.isArray(x)) return x.length
      if (isObject(x)) return Object.keys(x).length
      return null
    case "lower":
      return x === undefined ? undefined : typeof x === "string" ? x.toLowerCase() : null
    case "upper":
      return x === undefined ? undefined : typeof x === "string" ? x.toUpperCase() : null
    case "abs":
      return x === undefined ? undefined : typeof x === "number" ? normalize(Math.abs(x)) : null
  }
}

/** `l op r` with SQL-like MISSING/NULL handling (see module doc). */
export const compareWith = (op: Ast.CompareOp, l: Json | undefined, r: Json | undefined): boolean => {
  if (l === undefined || l === null || r === undefined || r === null) return false
  if (op === "=") return equals(l, r)
  if (op === "!=") return !equals(l, r)
  const t = typeof l
  if (t !== typeof r || (t !== "number" && t !== "string" && t !== "boolean")) return false
  const c = compare(l, r)
  switch (op) {
    case "<":
      return c < 0
    case "<=":
      return c <= 0
    case ">":
      return c > 0
    case ">=":
      return c >= 0
  }
}

// ---------------------------------------------------------------------------
// Ordering
// ---------------------------------------------------------------------------

const rank = (v: Json | undefined): number => {
  if (v === undefined) return 0
  if (v === null) return 1
  switch (typeof v) {
    case "boolean":
      return 2
    case "number":
      return 3
    case "string":
      return 4
    default:
      return Array.isArray(v) ? 5 : 6
  }
}

const sign = (n: number): number => (n < 0 ? -1 : n > 0 ? 1 : 0)

/**
 * Strings in Unicode code point order (= UTF-8 byte order, = SQLite's BINARY
 * collation), not UTF-16 code unit order.
 */
export const compareStrings = (a: string, b: string): number => {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i)
    const y = b.charCodeAt(i)
    if (x !== y) return sign(unitOrder(x) - unitOrder(y))
  }
  return sign(a.length - b.length)
}

/** Surrogates (code points ≥ U+10000) sort after U+E000..U+FFFF. */
const unitOrder = (u: number): number => (u >= 0xd800 && u <= 0xdfff ? u + 0x2000 : u >= 0xe000 ? u - 0x800 : u)

/**
 * Total order over JSON values and MISSING, used by ORDER BY:
 * MISSING < null < false < true < numbers < strings < arrays < objects.
 * Arrays compare element-wise then by length; objects by their sorted keys
 * and the values under them. `compare(a, b) === 0` iff `equals(a, b)`.
 */
export const compare = (a: Json | undefined, b: Json | undefined): number => {
  const ra = rank(a)
  const rb = rank(b)
  if (ra !== rb) return sign(ra - rb)
  if (typeof a === "boolean" && typeof b === "boolean") return sign(Number(a) - Number(b))
  if (typeof a === "number" && typeof b === "number") return a < b ? -1 : a > b ? 1 : 0
  if (typeof a === "string" && typeof b === "string") return compareStrings(a, b)
  if (Array.isArray(a) && Array.isArray(b)) {
    const n = Math.min(a.length, b.length)
    for (let i = 0; i < n; i++) {
      const c = compare(a[i], b[i])
      if (c !== 0) return c
    }
    return sign(a.length - b.length)
  }
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a).sort(compareStrings)
    const kb = Object.keys(b).sort(compareStrings)
    const n = Math.min(ka.length, kb.length)
    for (let i = 0; i < n; i++) {
      const c = compareStrings(ka[i]!, kb[i]!) || compare(a[ka[i]!], b[kb[i]!])
      if (c !== 0) return c
    }
    return sign(ka.length - kb.length)
  }
  return 0
}

/** The value of a LIMIT/OFFSET; `undefined` when it is absent or not a non-negative integer. */
export const countValue = (count: Ast.Count | undefined, args: Args): number | undefined => {
  const v = count === undefined || typeof count === "number" ? count : argValue(args, count.name)
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? v : undefined
}

/**
 * Sort by `orderBy` (stable: ties keep their input order), then skip
 * `offset` and keep `limit` documents. `limit`/`offset` may be numbers or
 * the statement's `Count`s (resolved against `args`).
 */
export const sortPage = <A extends JsonObject>(
  docs: ReadonlyArray<A>,
  orderBy: ReadonlyArray<Ast.OrderBy>,
  limit: Ast.Count | undefined,
  offset: Ast.Count | undefined,
  args: Args
): Array<A> => {
  let sorted: Array<A> = [...docs]
  if (orderBy.length > 0) {
    const keyed = docs.map((doc, index) => ({ doc, index, keys: orderBy.map((o) => evalExpr(o.expr, doc, args)) }))
    keyed.sort((x, y) => {
      for (let i = 0; i < orderBy.length; i++) {
        const c = compare(x.keys[i], y.keys[i])
        if (c !== 0) return orderBy[i]!.direction === "DESC" ? -c : c
      }
      return x.index - y.index
    })
    sorted = keyed.map((k) => k.doc)
  }
  const start = countValue(offset, args) ?? 0
  const n = countValue(limit, args)
  return sorted.slice(start, n === undefined ? undefined : start + n)
}

/**
 * The projected item of one document. `*` is the document itself. A field
 * path keeps its place in the document (`SELECT a.b` gives `{ a: { b } }`),
 * `AS x` names a top-level key, and any other expression is named by its
 * 1-based position: `$1`, `$2`, … MISSING values are left out.
 */
export const project = (projection: Ast.Select["projection"], doc: JsonObject, args: Args): JsonObject => {
  if (projection === "*") return doc
  let out: JsonObject = {}
  projection.forEach((p, i) => {
    const value = evalExpr(p.expr, doc, args)
    if (value === undefined) return
    const path = p.alias !== undefined ? [p.alias] : p.expr._tag === "Field" ? p.expr.path : [`$${i + 1}`]
    out = setPath(out, path, value)
  })
  return out
}

const setPath = (obj: JsonObject, path: Ast.Path, value: Json): JsonObject => {
  const [head, ...rest] = path
  if (head === undefined) return obj
  if (rest.length === 0) return { ...obj, [head]: value }
  const child = Object.hasOwn(obj, head) ? obj[head] : undefined
  return { ...obj, [head]: setPath(isObject(child) ? child : {}, rest, value) }
}

// ---------------------------------------------------------------------------
// LIKE
// ---------------------------------------------------------------------------

type PatternItem = "%" | "_" | { readonly char: string }

const patternCache = new Map<string, ReadonlyArray<PatternItem>>()

/** `%` = any run of characters, `_` = one character; `\` escapes `%`, `_` and `\`. */
export const parseLikePattern = (pattern: string): ReadonlyArray<PatternItem> => {
  const cached = patternCache.get(pattern)
  if (cached !== undefined) return cached
  const items = parsePattern(pattern)
  if (patternCache.size >= 256) patternCache.clear()
  patternCache.set(pattern, items)
  return items
}

const parsePattern = (pattern: string): ReadonlyArray<PatternItem> => {
  const chars = codePoints(pattern)
  const items: Array<PatternItem> = []
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!
    if (c === "\\" && i + 1 < chars.length && (chars[i + 1] === "%" || chars[i + 1] === "_" || chars[i + 1] === "\\")) {
      items.push({ char: chars[++i]! })
    } else if (c === "%" || c === "_") {
      items.push(c)
    } else {
      items.push({ char: c })
    }
  }
  return items
}

/** Case-sensitive SQL LIKE, character = code point. Linear-time wildcard matching (no regex backtracking). */
export const like = (value: string, pattern: string): boolean => {
  const s = codePoints(value)
  const p = parseLikePattern(pattern)
  let i = 0
  let j = 0
  let star = -1
  let mark = 0
  while (i < s.length) {
    const item = p[j]
    if (item !== undefined && (item === "_" || (item !== "%" && item.char === s[i]))) {
      i++
      j++
    } else if (item === "%") {
      star = j++
      mark = i
    } else if (star >= 0) {
      j = star + 1
      i = ++mark
    } else {
      return false
    }
  }
  while (p[j] === "%") j++
  return j === p.length
}

const codePoints = (s: string): Array<string> => Array.from(s)

// ---------------------------------------------------------------------------
// Arguments
// ---------------------------------------------------------------------------

/**
 * Check `args` against what `statement` uses, before executing it: every
 * `:name` must be supplied; a LIMIT/OFFSET argument must be a non-negative
 * integer; an INSERT document argument must be an object (or an array of
 * objects). Fails with the first problem as `DqlArgumentError`.
 */
export const checkArgs = (statement: Ast.Statement, args: Args): Either.Either<void, DqlArgumentError> => {
  const missing = Ast.argNames(statement).filter((name) => argValue(args, name) === undefined)
  if (missing.length > 0) {
    const more = missing.length > 1 ? ` (also missing: ${missing.slice(1).map((n) => `:${n}`).join(", ")})` : ""
    return Either.left(new DqlArgumentError({ name: missing[0]!, message: `missing argument :${missing[0]}${more}` }))
  }
  const select = statement._tag === "Explain" ? statement.statement : statement
  if (select._tag === "Select") {
    for (const [clause, count] of [["LIMIT", select.limit], ["OFFSET", select.offset]] as const) {
      if (count === undefined || typeof count === "number") continue
      if (countValue(count, args) === undefined) {
        const got = JSON.stringify(argValue(args, count.name))
        return Either.left(
          new DqlArgumentError({ name: count.name, message: `${clause} :${count.name} must be a non-negative integer, got ${got}` })
        )
      }
    }
  }
  if (statement._tag === "Insert") {
    for (const d of statement.documents) {
      if (d._tag !== "Arg") continue
      const v = argValue(args, d.name)
      if (isObject(v) || (Array.isArray(v) && v.every(isObject))) continue
      return Either.left(
        new DqlArgumentError({
          name: d.name,
          message: `INSERT document :${d.name} must be an object (or an array of objects), got ${JSON.stringify(v)}`
        })
      )
    }
  }
  return Either.void
}
