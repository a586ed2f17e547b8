/**
 * AST back to DQL text. For every AST the parser can produce,
 * `parse(print(ast))` is `ast` again (property-tested). Parentheses are
 * added only where precedence or associativity requires them.
 */
import type * as Ast from "./Ast.js"
import { isPlainIdentifier, keywords } from "./Lexer.js"

/** Print a statement as one line of DQL. */
export const print = (statement: Ast.Statement): string => {
  switch (statement._tag) {
    case "Select":
      return printSelect(statement)
    case "Explain":
      return `EXPLAIN ${printSelect(statement.statement)}`
    case "Insert": {
      const docs = statement.documents.map((d) => `(${printExpr(d)})`).join(", ")
      const conflict = statement.onConflict === "FAIL" ? "" : ` ON ID CONFLICT ${statement.onConflict}`
      return `INSERT INTO ${printName(statement.collection)} DOCUMENTS ${docs}${conflict}`
    }
    case "Update": {
      const parts = [`UPDATE ${printName(statement.collection)}`]
      if (statement.set.length > 0) {
        parts.push(`SET ${statement.set.map((a) => `${printPath(a.path)} = ${printExpr(a.expr)}`).join(", ")}`)
      }
      if (statement.unset.length > 0) parts.push(`UNSET ${statement.unset.map(printPath).join(", ")}`)
      if (statement.apply.length > 0) {
        parts.push(`APPLY ${statement.apply.map((a) => `${printPath(a.path)} PN_INCREMENT BY ${printExpr(a.by)}`).join(", ")}`)
      }
      return parts.join(" ") + printWhere(statement.where)
    }
    case "Delete":
      return `DELETE FROM ${printName(statement.collection)}${printWhere(statement.where)}`
    case "Evict":
      return `EVICT FROM ${printName(statement.collection)}${printWhere(statement.where)}`
    case "CreateIndex":
      return `CREATE INDEX ${statement.ifNotExists ? "IF NOT EXISTS " : ""}${printName(statement.name)} ON ${
        printName(statement.collection)
      } (${printPath(statement.path)})`
    case "DropIndex":
      return `DROP INDEX ${statement.ifExists ? "IF EXISTS " : ""}${printName(statement.name)}`
  }
}

const printSelect = (s: Ast.Select): string => {
  const projection = s.projection === "*"
    ? "*"
    : s.projection.map((p) => printExpr(p.expr) + (p.alias === undefined ? "" : ` AS ${printName(p.alias)}`)).join(", ")
  let text = `SELECT ${projection} FROM ${printName(s.collection)}${printWhere(s.where)}`
  if (s.orderBy.length > 0) {
    text += ` ORDER BY ${s.orderBy.map((o) => `${printExpr(o.expr)} ${o.direction}`).join(", ")}`
  }
  if (s.limit !== undefined) text += ` LIMIT ${printCount(s.limit)}`
  if (s.offset !== undefined) text += ` OFFSET ${printCount(s.offset)}`
  return text
}

const printWhere = (where: Ast.Expr | undefined): string => (where === undefined ? "" : ` WHERE ${printExpr(where)}`)

const printCount = (c: Ast.Count): string => (typeof c === "number" ? String(c) : `:${c.name}`)

/** An identifier, backquoted when it is not a plain identifier or spells a keyword. */
export const printName = (name: string): string =>
  isPlainIdentifier(name) && !keywords.has(name.toUpperCase()) ? name : "`" + name.replaceAll("`", "``") + "`"

export const printPath = (path: Ast.Path): string => path.map(printName).join(".")

/** A string literal in single quotes (`'` doubled). */
export const printString = (s: string): string => `'${s.replaceAll("'", "''")}'`

// Binding strength, loosest first. A child printed where a stronger form is
// required gets parentheses.
const OR = 1
const AND = 2
const NOT = 3
const COMPARE = 4
const ADD = 5
const MUL = 6
const UNARY = 7
const PRIMARY = 8

const precedence = (e: Ast.Expr): number => {
  switch (e._tag) {
    case "Or":
      return OR
    case "And":
      return AND
    case "Not":
      return NOT
    case "Compare":
    case "In":
    case "Like":
    case "Is":
      return COMPARE
    case "Arith":
      return e.op === "+" || e.op === "-" ? ADD : MUL
    case "Neg":
      return UNARY
    default:
      return PRIMARY
  }
}

/** Print an expression with the fewest parentheses that keep its structure. */
export const printExpr = (e: Ast.Expr): string => at(e, OR)

/** `e` printed where binding strength `min` is required */
const at = (e: Ast.Expr, min: number): string => {
  const text = render(e)
  return precedence(e) < min ? `(${text})` : text
}

const render = (e: Ast.Expr): string => {
  switch (e._tag) {
    case "Literal":
      return printScalar(e.value)
    case "Arg":
      return `:${e.name}`
    case "Field":
      return printPath(e.path)
    case "ObjectLit":
      return `{${e.fields.map((f) => `${JSON.stringify(f.key)}: ${printExpr(f.value)}`).join(", ")}}`
    case "ArrayLit":
      return `[${e.items.map(printExpr).join(", ")}]`
    case "Call":
      return `${e.name}(${e.args.map(printExpr).join(", ")})`
    case "Or":
      return `${at(e.left, OR)} OR ${at(e.right, AND)}`
    case "And":
      return `${at(e.left, AND)} AND ${at(e.right, NOT)}`
    case "Not":
      return `NOT ${at(e.expr, NOT)}`
    case "Compare":
      return `${at(e.left, ADD)} ${e.op} ${at(e.right, ADD)}`
    case "Is":
      return `${at(e.expr, ADD)} IS ${e.negated ? "NOT " : ""}${e.test}`
    case "Like":
      return `${at(e.expr, ADD)} ${e.negated ? "NOT " : ""}LIKE ${at(e.pattern, ADD)}`
    case "In": {
      const list = e.list._tag === "ArrayLit" ? `(${e.list.items.map(printExpr).join(", ")})` : render(e.list)
      return `${at(e.expr, ADD)} ${e.negated ? "NOT " : ""}IN ${list}`
    }
    case "Arith": {
      const level = e.op === "+" || e.op === "-" ? ADD : MUL
      return `${at(e.left, level)} ${e.op} ${at(e.right, level + 1)}`
    }
    case "Neg": {
      // `-5` would read back as the literal -5, and `--` starts a comment.
      const inner = at(e.expr, UNARY)
      const wrap = (e.expr._tag === "Literal" && typeof e.expr.value === "number") || inner.startsWith("-")
      return wrap ? `-(${inner})` : `-${inner}`
    }
  }
}

const printScalar = (value: Ast.Scalar): string => {
  if (value === null) return "NULL"
  if (typeof value === "boolean") return value ? "TRUE" : "FALSE"
  if (typeof value === "number") return String(value)
  return printString(value)
}
