/**
 * The typed syntax tree of DQL. Plain immutable data: every node is a
 * discriminated union member with a `_tag`, so it can be compared with deep
 * equality, pattern-matched with `switch (node._tag)` or `Match.tag`, and
 * printed back to text with `Printer.print`.
 */

/** A field path: `a.b.c` is `["a", "b", "c"]`. Segments are object keys, never array indexes. */
export type Path = ReadonlyArray<string>

export type Scalar = null | boolean | number | string

// ---------------------------------------------------------------------------
// Expressions
// ---------------------------------------------------------------------------

/** `42`, `-1.5`, `'text'`, `true`, `false`, `null` */
export interface Literal {
  readonly _tag: "Literal"
  readonly value: Scalar
}

/** `{ "a": 1, b: :x }` (keys unique) */
export interface ObjectLit {
  readonly _tag: "ObjectLit"
  readonly fields: ReadonlyArray<ObjectField>
}

export interface ObjectField {
  readonly key: string
  readonly value: Expr
}

/** `[1, 2]`; also the value list of `x IN (1, 2)` */
export interface ArrayLit {
  readonly _tag: "ArrayLit"
  readonly items: ReadonlyArray<Expr>
}

/** `:name` — a named argument supplied at execution */
export interface Arg {
  readonly _tag: "Arg"
  readonly name: string
}

/** `a.b.c`, `` a.`odd key` ``, `a['b']` */
export interface Field {
  readonly _tag: "Field"
  readonly path: Path
}

export const functionNames = ["length", "lower", "upper", "abs", "coalesce"] as const
export type FunctionName = (typeof functionNames)[number]

/** `lower(name)`; function names are case-insensitive in text and lower case here */
export interface Call {
  readonly _tag: "Call"
  readonly name: FunctionName
  readonly args: ReadonlyArray<Expr>
}

export interface Not {
  readonly _tag: "Not"
  readonly expr: Expr
}

/** unary minus on a non-literal (`-x`); `-5` parses as `Literal(-5)` */
export interface Neg {
  readonly _tag: "Neg"
  readonly expr: Expr
}

export interface And {
  readonly _tag: "And"
  readonly left: Expr
  readonly right: Expr
}

export interface Or {
  readonly _tag: "Or"
  readonly left: Expr
  readonly right: Expr
}

/** `==` parses as `=`, `<>` as `!=` */
export type CompareOp = "=" | "!=" | "<" | "<=" | ">" | ">="

export interface Compare {
  readonly _tag: "Compare"
  readonly op: CompareOp
  readonly left: Expr
  readonly right: Expr
}

export type ArithOp = "+" | "-" | "*" | "/" | "%"

export interface Arith {
  readonly _tag: "Arith"
  readonly op: ArithOp
  readonly left: Expr
  readonly right: Expr
}

/** `x [NOT] IN (1, 2)`, `x [NOT] IN :list`, `x [NOT] IN tags` */
export interface In {
  readonly _tag: "In"
  readonly expr: Expr
  readonly list: ArrayLit | Arg | Field
  readonly negated: boolean
}

/** `x [NOT] LIKE 'a%b_'` */
export interface Like {
  readonly _tag: "Like"
  readonly expr: Expr
  readonly pattern: Expr
  readonly negated: boolean
}

/** `x IS [NOT] NULL`, `x IS [NOT] MISSING` */
export interface Is {
  readonly _tag: "Is"
  readonly expr: Expr
  readonly test: "NULL" | "MISSING"
  readonly negated: boolean
}

export type Expr =
  | Literal
  | ObjectLit
  | ArrayLit
  | Arg
  | Field
  | Call
  | Not
  | Neg
  | And
  | Or
  | Compare
  | Arith
  | In
  | Like
  | Is

// ---------------------------------------------------------------------------
// Statements
// ---------------------------------------------------------------------------

export interface Projection {
  readonly expr: Expr
  readonly alias?: string
}

export type Direction = "ASC" | "DESC"

export interface OrderBy {
  readonly expr: Expr
  readonly direction: Direction
}

/** LIMIT / OFFSET: a non-negative integer literal or an argument */
export type Count = number | Arg

/** `SELECT * | e [AS x], … FROM c [WHERE e] [ORDER BY e [ASC|DESC], …] [LIMIT n] [OFFSET n]` */
export interface Select {
  readonly _tag: "Select"
  readonly collection: string
  readonly projection: "*" | ReadonlyArray<Projection>
  readonly where?: Expr
  readonly orderBy: ReadonlyArray<OrderBy>
  readonly limit?: Count
  readonly offset?: Count
}

export type OnConflict = "FAIL" | "DO NOTHING" | "DO UPDATE"

/** `INSERT INTO c DOCUMENTS (:doc), ({…}) [ON ID CONFLICT FAIL | DO NOTHING | DO UPDATE]` */
export interface Insert {
  readonly _tag: "Insert"
  readonly collection: string
  readonly documents: ReadonlyArray<Arg | ObjectLit>
  readonly onConflict: OnConflict
}

export interface Assignment {
  readonly path: Path
  readonly expr: Expr
}

export interface Increment {
  readonly path: Path
  readonly by: Expr
}

/** `UPDATE c SET a = e, … UNSET p, … APPLY p PN_INCREMENT BY e, … [WHERE e]` */
export interface Update {
  readonly _tag: "Update"
  readonly collection: string
  readonly set: ReadonlyArray<Assignment>
  readonly unset: ReadonlyArray<Path>
  readonly apply: ReadonlyArray<Increment>
  readonly where?: Expr
}

/** `DELETE FROM c [WHERE e]` */
export interface Delete {
  readonly _tag: "Delete"
  readonly collection: string
  readonly where?: Expr
}

/** `EVICT FROM c [WHERE e]` — local only, never synced */
export interface Evict {
  readonly _tag: "Evict"
  readonly collection: string
  readonly where?: Expr
}

/** `CREATE INDEX [IF NOT EXISTS] name ON c (a.b)` */
export interface CreateIndex {
  readonly _tag: "CreateIndex"
  readonly name: string
  readonly collection: string
  readonly path: Path
  readonly ifNotExists: boolean
}

/** `DROP INDEX [IF EXISTS] name` */
export interface DropIndex {
  readonly _tag: "DropIndex"
  readonly name: string
  readonly ifExists: boolean
}

/** `EXPLAIN SELECT …` */
export interface Explain {
  readonly _tag: "Explain"
  readonly statement: Select
}

export type Statement = Select | Insert | Update | Delete | Evict | CreateIndex | DropIndex | Explain

// ---------------------------------------------------------------------------
// Constructors (convenience for code that builds queries)
// ---------------------------------------------------------------------------

export const literal = (value: Scalar): Literal => ({ _tag: "Literal", value })
export const object = (fields: ReadonlyArray<ObjectField>): ObjectLit => ({ _tag: "ObjectLit", fields })
export const array = (items: ReadonlyArray<Expr>): ArrayLit => ({ _tag: "ArrayLit", items })
export const arg = (name: string): Arg => ({ _tag: "Arg", name })
export const field = (...path: ReadonlyArray<string>): Field => ({ _tag: "Field", path })
export const call = (name: FunctionName, args: ReadonlyArray<Expr>): Call => ({ _tag: "Call", name, args })
export const not = (expr: Expr): Not => ({ _tag: "Not", expr })
export const neg = (expr: Expr): Neg => ({ _tag: "Neg", expr })
export const and = (left: Expr, right: Expr): And => ({ _tag: "And", left, right })
export const or = (left: Expr, right: Expr): Or => ({ _tag: "Or", left, right })
export const compare = (op: CompareOp, left: Expr, right: Expr): Compare => ({ _tag: "Compare", op, left, right })
export const arith = (op: ArithOp, left: Expr, right: Expr): Arith => ({ _tag: "Arith", op, left, right })
export const isIn = (expr: Expr, list: ArrayLit | Arg | Field, negated = false): In => ({
  _tag: "In",
  expr,
  list,
  negated
})
export const like = (expr: Expr, pattern: Expr, negated = false): Like => ({ _tag: "Like", expr, pattern, negated })
export const is = (expr: Expr, test: "NULL" | "MISSING", negated = false): Is => ({ _tag: "Is", expr, test, negated })

/** `a AND b AND c` from a list of conjuncts (left-nested, as the parser builds it); `undefined` if empty. */
export const conjunction = (exprs: ReadonlyArray<Expr>): Expr | undefined =>
  exprs.reduce<Expr | undefined>((acc, e) => (acc === undefined ? e : and(acc, e)), undefined)

/** The top-level AND conjuncts of an expression, left to right. */
export const conjuncts = (expr: Expr): ReadonlyArray<Expr> =>
  expr._tag === "And" ? [...conjuncts(expr.left), ...conjuncts(expr.right)] : [expr]

/** The collection a statement reads or writes (`undefined` for DROP INDEX). */
export const collectionOf = (statement: Statement): string | undefined => {
  switch (statement._tag) {
    case "Explain":
      return statement.statement.collection
    case "DropIndex":
      return undefined
    default:
      return statement.collection
  }
}

/** The `:name` arguments an expression uses, in first-use order, without duplicates. */
export const exprArgNames = (expr: Expr): ReadonlyArray<string> => {
  const names = new Set<string>()
  walkArgs(expr, names)
  return [...names]
}

/** The `:name` arguments a statement uses, in first-use order, without duplicates. */
export const argNames = (statement: Statement): ReadonlyArray<string> => {
  const names = new Set<string>()
  const count = (c: Count | undefined) => {
    if (c !== undefined && typeof c !== "number") names.add(c.name)
  }
  const visit = (s: Statement): void => {
    switch (s._tag) {
      case "Select":
        if (s.projection !== "*") for (const p of s.projection) walkArgs(p.expr, names)
        if (s.where) walkArgs(s.where, names)
        for (const o of s.orderBy) walkArgs(o.expr, names)
        count(s.limit)
        count(s.offset)
        return
      case "Insert":
        for (const d of s.documents) walkArgs(d, names)
        return
      case "Update":
        for (const a of s.set) walkArgs(a.expr, names)
        for (const a of s.apply) walkArgs(a.by, names)
        if (s.where) walkArgs(s.where, names)
        return
      case "Delete":
      case "Evict":
        if (s.where) walkArgs(s.where, names)
        return
      case "Explain":
        return visit(s.statement)
      case "CreateIndex":
      case "DropIndex":
        return
    }
  }
  visit(statement)
  return [...names]
}

/** The sub-expressions of an expression, in source order. */
export const children = (expr: Expr): ReadonlyArray<Expr> => {
  switch (expr._tag) {
    case "Arg":
    case "Literal":
    case "Field":
      return []
    case "ObjectLit":
      return expr.fields.map((f) => f.value)
    case "ArrayLit":
      return expr.items
    case "Call":
      return expr.args
    case "Not":
    case "Neg":
    case "Is":
      return [expr.expr]
    case "And":
    case "Or":
    case "Compare":
    case "Arith":
      return [expr.left, expr.right]
    case "In":
      return [expr.expr, expr.list]
    case "Like":
      return [expr.expr, expr.pattern]
  }
}

const walkArgs = (expr: Expr, names: Set<string>): void => {
  if (expr._tag === "Arg") names.add(expr.name)
  for (const child of children(expr)) walkArgs(child, names)
}

/** The top-level field names an expression reads (`a` for `a.b.c`). */
export const topLevelFields = (expr: Expr, into: Set<string> = new Set()): ReadonlySet<string> => {
  if (expr._tag === "Field" && expr.path[0] !== undefined) into.add(expr.path[0])
  for (const child of children(expr)) topLevelFields(child, into)
  return into
}
