/**
 * Recursive-descent parser for DQL. Precedence, loosest first:
 *
 *   OR < AND < NOT < comparison (= != < <= > >= IN LIKE IS) < + - < * / % < unary - < primary
 *
 * AND, OR and the arithmetic operators associate to the left; comparisons do
 * not chain (`a = b = c` is an error: write `(a = b) = c`). Keywords are
 * case-insensitive and recognised by position, so most of them stay usable as
 * field names; the few in `reservedInExpression` must be backquoted where a
 * field path starts an operand.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Ast from "./Ast.js"
import { DqlSyntaxError } from "./Errors.js"
import { describe, type SymbolText, syntaxError, type Token, tokenize } from "./Lexer.js"

/** Parse one statement (an optional trailing `;` is allowed). */
export const parse = (text: string): Either.Either<Ast.Statement, DqlSyntaxError> =>
  run(text, (p) => p.statementEnd())

/** `parse` as an Effect that fails with `DqlSyntaxError`. */
export const parseEffect = (text: string): Effect.Effect<Ast.Statement, DqlSyntaxError> =>
  Effect.suspend(() => parse(text))

/** Parse a standalone expression, e.g. a WHERE predicate stored in a permission rule. */
export const parseExpression = (text: string): Either.Either<Ast.Expr, DqlSyntaxError> =>
  run(text, (p) => p.expressionEnd())

/** `parseExpression` as an Effect that fails with `DqlSyntaxError`. */
export const parseExpressionEffect = (text: string): Effect.Effect<Ast.Expr, DqlSyntaxError> =>
  Effect.suspend(() => parseExpression(text))

const run = <A>(text: string, f: (p: Parser) => A): Either.Either<A, DqlSyntaxError> =>
  Either.flatMap(tokenize(text), (tokens) => {
    try {
      return Either.right(f(new Parser(tokens)))
    } catch (e) {
      if (e instanceof DqlSyntaxError) return Either.left(e)
      throw e
    }
  })

/**
 * Words that cannot start a field path inside an expression (backquote
 * them: `` `order` = 1 ``). Elsewhere — after a dot, as a collection name,
 * as an UPDATE target — every word is a valid name.
 */
export const reservedInExpression: ReadonlySet<string> = new Set([
  "AND", "OR", "NOT", "IN", "LIKE", "IS", "NULL", "MISSING", "TRUE", "FALSE",
  "SELECT", "FROM", "WHERE", "ORDER", "LIMIT", "OFFSET", "SET", "UNSET", "APPLY"
])

const compareOps: ReadonlyMap<SymbolText, Ast.CompareOp> = new Map<SymbolText, Ast.CompareOp>([
  ["=", "="],
  ["==", "="],
  ["!=", "!="],
  ["<>", "!="],
  ["<", "<"],
  ["<=", "<="],
  [">", ">"],
  [">=", ">="]
])

const arity: Record<Ast.FunctionName, readonly [min: number, max: number]> = {
  length: [1, 1],
  lower: [1, 1],
  upper: [1, 1],
  abs: [1, 1],
  coalesce: [1, Infinity]
}

const isFunctionName = (name: string): name is Ast.FunctionName =>
  Ast.functionNames.some((f) => f === name)

const maxDepth = 200

const asciiWord = /^[A-Za-z_]+$/

/** The keyword an identifier token spells (ASCII letters only, upper-cased), if any. */
const wordOf = (token: Token): string | undefined =>
  token._tag === "Ident" && asciiWord.test(token.name) ? token.name.toUpperCase() : undefined

class Parser {
  private pos = 0
  private depth = 0

  constructor(private readonly tokens: ReadonlyArray<Token>) {}

  // -- entry points ---------------------------------------------------------

  statementEnd(): Ast.Statement {
    const statement = this.statement()
    this.acceptSymbol(";")
    this.expectEnd()
    return statement
  }

  expressionEnd(): Ast.Expr {
    const expr = this.expr()
    this.expectEnd()
    return expr
  }

  // -- token helpers --------------------------------------------------------

  private peek(ahead = 0): Token {
    return this.tokens[Math.min(this.pos + ahead, this.tokens.length - 1)]!
  }

  private next(): Token {
    const token = this.peek()
    if (token._tag !== "End") this.pos++
    return token
  }

  /** `after 'WHERE'` — the context used when a rule has no better name */
  private afterPrevious(): string {
    const prev = this.tokens[this.pos - 1]
    return prev === undefined ? "at start of statement" : `after ${describe(prev)}`
  }

  private fail(what: string, token: Token = this.peek()): never {
    throw syntaxError(what, token)
  }

  private isKeyword(token: Token, keyword: string): boolean {
    return wordOf(token) === keyword
  }

  private atKeyword(keyword: string, ahead = 0): boolean {
    return this.isKeyword(this.peek(ahead), keyword)
  }

  private acceptKeyword(keyword: string): boolean {
    if (!this.atKeyword(keyword)) return false
    this.pos++
    return true
  }

  private expectKeyword(keyword: string, context = this.afterPrevious()): void {
    if (!this.acceptKeyword(keyword)) this.fail(`expected ${keyword} ${context}`)
  }

  private atSymbol(symbol: SymbolText, ahead = 0): boolean {
    const token = this.peek(ahead)
    return token._tag === "Symbol" && token.symbol === symbol
  }

  private acceptSymbol(symbol: SymbolText): boolean {
    if (!this.atSymbol(symbol)) return false
    this.pos++
    return true
  }

  private expectSymbol(symbol: SymbolText, context = this.afterPrevious()): void {
    if (!this.acceptSymbol(symbol)) this.fail(`expected '${symbol}' ${context}`)
  }

  private expectEnd(): void {
    const token = this.peek()
    if (token._tag !== "End") this.fail("expected end of statement", token)
  }

  /** an identifier (keywords allowed) or a backquoted identifier */
  private name(what: string, context = this.afterPrevious()): string {
    const token = this.peek()
    if (token._tag === "Ident" || token._tag === "QuotedIdent") {
      this.pos++
      return token.name
    }
    return this.fail(`expected ${what} ${context}`)
  }

  private commaList<A>(item: () => A): Array<A> {
    const items = [item()]
    while (this.acceptSymbol(",")) items.push(item())
    return items
  }

  // -- statements -----------------------------------------------------------

  private statement(): Ast.Statement {
    const token = this.peek()
    if (this.acceptKeyword("SELECT")) return this.select()
    if (this.acceptKeyword("INSERT")) return this.insert()
    if (this.acceptKeyword("UPDATE")) return this.update()
    if (this.acceptKeyword("DELETE")) return { _tag: "Delete", ...this.fromWhere("DELETE") }
    if (this.acceptKeyword("EVICT")) return { _tag: "Evict", ...this.fromWhere("EVICT") }
    if (this.acceptKeyword("CREATE")) return this.createIndex()
    if (this.acceptKeyword("DROP")) return this.dropIndex()
    if (this.acceptKeyword("EXPLAIN")) {
      if (!this.acceptKeyword("SELECT")) this.fail("expected SELECT after EXPLAIN")
      return { _tag: "Explain", statement: this.select() }
    }
    return this.fail("expected SELECT, INSERT, UPDATE, DELETE, EVICT, CREATE, DROP or EXPLAIN", token)
  }

  private select(): Ast.Select {
    const projection = this.projection()
    this.expectKeyword("FROM", "after projection")
    const collection = this.name("collection name", "after FROM")
    const where = this.where()
    let orderBy: Array<Ast.OrderBy> = []
    if (this.acceptKeyword("ORDER")) {
      this.expectKeyword("BY", "after ORDER")
      orderBy = this.commaList(() => {
        const expr = this.expr()
        if (this.acceptKeyword("DESC")) return { expr, direction: "DESC" }
        this.acceptKeyword("ASC")
        return { expr, direction: "ASC" }
      })
    }
    const limit = this.acceptKeyword("LIMIT") ? this.count("LIMIT") : undefined
    const offset = this.acceptKeyword("OFFSET") ? this.count("OFFSET") : undefined
    return {
      _tag: "Select",
      collection,
      projection,
      ...(where === undefined ? {} : { where }),
      orderBy,
      ...(limit === undefined ? {} : { limit }),
      ...(offset === undefined ? {} : { offset })
    }
  }

  private projection(): Ast.Select["projection"] {
    if (this.acceptSymbol("*")) return "*"
    if (this.atKeyword("FROM")) this.fail("expected '*' or a projection after SELECT")
    return this.commaList(() => {
      const expr = this.expr()
      if (!this.acceptKeyword("AS")) return { expr }
      return { expr, alias: this.name("alias", "after AS") }
    })
  }

  private count(clause: "LIMIT" | "OFFSET"): Ast.Count {
    const token = this.next()
    if (token._tag === "Arg") return Ast.arg(token.name)
    if (token._tag === "Number" && Number.isSafeInteger(token.value)) return token.value
    return this.fail(`${clause} expects a non-negative integer or an :argument`, token)
  }

  private where(): Ast.Expr | undefined {
    return this.acceptKeyword("WHERE") ? this.expr() : undefined
  }

  private fromWhere(verb: string): { collection: string; where?: Ast.Expr } {
    this.expectKeyword("FROM", `after ${verb}`)
    const collection = this.name("collection name", "after FROM")
    const where = this.where()
    return where === undefined ? { collection } : { collection, where }
  }

  private insert(): Ast.Insert {
    this.expectKeyword("INTO", "after INSERT")
    const collection = this.name("collection name", "after INTO")
    this.expectKeyword("DOCUMENTS", "after collection name")
    const documents = this.commaList((): Ast.Arg | Ast.ObjectLit => {
      const parenthesized = this.acceptSymbol("(")
      const token = this.peek()
      let document: Ast.Arg | Ast.ObjectLit
      if (token._tag === "Arg") {
        this.pos++
        document = Ast.arg(token.name)
      } else if (this.atSymbol("{")) {
        document = this.objectLiteral()
      } else {
        return this.fail(`expected a document ({…} or :argument) ${this.afterPrevious()}`)
      }
      if (parenthesized) this.expectSymbol(")", "after document")
      return document
    })
    let onConflict: Ast.OnConflict = "FAIL"
    if (this.acceptKeyword("ON")) {
      this.expectKeyword("ID", "after ON")
      this.expectKeyword("CONFLICT", "after ON ID")
      if (this.acceptKeyword("FAIL")) onConflict = "FAIL"
      else if (this.acceptKeyword("DO")) {
        if (this.acceptKeyword("NOTHING")) onConflict = "DO NOTHING"
        else if (this.acceptKeyword("UPDATE")) onConflict = "DO UPDATE"
        else this.fail("expected NOTHING or UPDATE after DO")
      } else this.fail("expected FAIL, DO NOTHING or DO UPDATE after ON ID CONFLICT")
    }
    return { _tag: "Insert", collection, documents, onConflict }
  }

  private update(): Ast.Update {
    const collection = this.name("collection name", "after UPDATE")
    const set: Array<Ast.Assignment> = []
    const unset: Array<Ast.Path> = []
    const apply: Array<Ast.Increment> = []
    const seen: Array<{ path: Ast.Path; token: Token }> = []
    const path = (): Ast.Path => {
      const token = this.peek()
      const p = this.path()
      const clash = seen.find((s) => isPrefix(s.path, p) || isPrefix(p, s.path))
      if (clash) this.fail(`path ${p.join(".")} overlaps ${clash.path.join(".")} in the same UPDATE`, token)
      seen.push({ path: p, token })
      return p
    }
    for (;;) {
      if (this.acceptKeyword("SET")) {
        set.push(...this.commaList(() => {
          const p = path()
          this.expectSymbol("=", "after field path in SET")
          return { path: p, expr: this.expr() }
        }))
      } else if (this.acceptKeyword("UNSET")) {
        unset.push(...this.commaList(path))
      } else if (this.acceptKeyword("APPLY")) {
        apply.push(...this.commaList(() => {
          const p = path()
          this.expectKeyword("PN_INCREMENT", "after field path in APPLY")
          this.expectKeyword("BY", "after PN_INCREMENT")
          return { path: p, by: this.expr() }
        }))
      } else break
    }
    if (seen.length === 0) this.fail("expected SET, UNSET or APPLY after collection name")
    const where = this.where()
    return { _tag: "Update", collection, set, unset, apply, ...(where === undefined ? {} : { where }) }
  }

  private createIndex(): Ast.CreateIndex {
    this.expectKeyword("INDEX", "after CREATE")
    let ifNotExists = false
    if (this.acceptKeyword("IF")) {
      this.expectKeyword("NOT", "after IF")
      this.expectKeyword("EXISTS", "after IF NOT")
      ifNotExists = true
    }
    const name = this.name("index name")
    this.expectKeyword("ON", "after index name")
    const collection = this.name("collection name", "after ON")
    this.expectSymbol("(", "after collection name")
    const path = this.path()
    this.expectSymbol(")", "after indexed path")
    return { _tag: "CreateIndex", name, collection, path, ifNotExists }
  }

  private dropIndex(): Ast.DropIndex {
    this.expectKeyword("INDEX", "after DROP")
    let ifExists = false
    if (this.acceptKeyword("IF")) {
      this.expectKeyword("EXISTS", "after IF")
      ifExists = true
    }
    return { _tag: "DropIndex", name: this.name("index name"), ifExists }
  }

  /** `a.b`, `` a.`x y` ``, `a['b']` — first segment may be any identifier */
  private path(): Ast.Path {
    return this.pathFrom(this.name("field path"))
  }

  private pathFrom(first: string): Ast.Path {
    const segments = [first]
    for (;;) {
      if (this.acceptSymbol(".")) {
        segments.push(this.name("field name", "after '.'"))
      } else if (this.atSymbol("[")) {
        this.pos++
        const token = this.next()
        if (token._tag !== "String") this.fail("expected a quoted field name after '['", token)
        if (token.value === "") this.fail("empty field name", token)
        segments.push(token.value)
        this.expectSymbol("]", "after field name")
      } else {
        return segments
      }
    }
  }

  // -- expressions ----------------------------------------------------------

  private expr(): Ast.Expr {
    if (++this.depth > maxDepth) this.fail("expression nested too deeply")
    try {
      return this.or()
    } finally {
      this.depth--
    }
  }

  private or(): Ast.Expr {
    let left = this.and()
    while (this.acceptKeyword("OR")) left = Ast.or(left, this.and())
    return left
  }

  private and(): Ast.Expr {
    let left = this.not()
    while (this.acceptKeyword("AND")) left = Ast.and(left, this.not())
    return left
  }

  private not(): Ast.Expr {
    if (this.acceptKeyword("NOT")) return this.nested(() => Ast.not(this.not()))
    return this.comparison()
  }

  private comparison(): Ast.Expr {
    const left = this.additive()
    const token = this.peek()
    if (token._tag === "Symbol") {
      const op = compareOps.get(token.symbol)
      if (op !== undefined) {
        this.pos++
        return Ast.compare(op, left, this.additive())
      }
    }
    if (this.acceptKeyword("IS")) {
      const negated = this.acceptKeyword("NOT")
      if (this.acceptKeyword("NULL")) return Ast.is(left, "NULL", negated)
      if (this.acceptKeyword("MISSING")) return Ast.is(left, "MISSING", negated)
      return this.fail(`expected NULL or MISSING after ${negated ? "IS NOT" : "IS"}`)
    }
    const negated = this.atKeyword("NOT") && (this.atKeyword("IN", 1) || this.atKeyword("LIKE", 1))
    if (negated) this.pos++
    if (this.acceptKeyword("IN")) return Ast.isIn(left, this.inList(), negated)
    if (this.acceptKeyword("LIKE")) return Ast.like(left, this.additive(), negated)
    return left
  }

  private inList(): Ast.ArrayLit | Ast.Arg | Ast.Field {
    const token = this.peek()
    if (this.acceptSymbol("(")) {
      const items = this.atSymbol(")") ? [] : this.commaList(() => this.expr())
      this.expectSymbol(")", "after IN list")
      return Ast.array(items)
    }
    if (this.atSymbol("[")) return this.arrayLiteral()
    if (token._tag === "Arg") {
      this.pos++
      return Ast.arg(token.name)
    }
    if (token._tag === "QuotedIdent" || (token._tag === "Ident" && !reservedInExpression.has(wordOf(token) ?? ""))) {
      this.pos++
      return { _tag: "Field", path: this.pathFrom(token.name) }
    }
    return this.fail("expected '(', '[', an :argument or a field path after IN")
  }

  private additive(): Ast.Expr {
    let left = this.multiplicative()
    for (;;) {
      if (this.acceptSymbol("+")) left = Ast.arith("+", left, this.multiplicative())
      else if (this.acceptSymbol("-")) left = Ast.arith("-", left, this.multiplicative())
      else return left
    }
  }

  private multiplicative(): Ast.Expr {
    let left = this.unary()
    for (;;) {
      if (this.acceptSymbol("*")) left = Ast.arith("*", left, this.unary())
      else if (this.acceptSymbol("/")) left = Ast.arith("/", left, this.unary())
      else if (this.acceptSymbol("%")) left = Ast.arith("%", left, this.unary())
      else return left
    }
  }

  private unary(): Ast.Expr {
    if (!this.acceptSymbol("-")) return this.primary()
    const token = this.peek()
    if (token._tag === "Number") {
      this.pos++
      return Ast.literal(token.value === 0 ? 0 : -token.value)
    }
    return this.nested(() => Ast.neg(this.unary()))
  }

  private nested<A>(f: () => A): A {
    if (++this.depth > maxDepth) this.fail("expression nested too deeply")
    try {
      return f()
    } finally {
      this.depth--
    }
  }

  private primary(): Ast.Expr {
    const token = this.peek()
    switch (token._tag) {
      case "Number":
      case "String":
        this.pos++
        return Ast.literal(token.value)
      case "Arg":
        this.pos++
        return Ast.arg(token.name)
      case "QuotedIdent":
        this.pos++
        return { _tag: "Field", path: this.pathFrom(token.name) }
      case "Ident": {
        const upper = wordOf(token) ?? ""
        if (upper === "TRUE" || upper === "FALSE" || upper === "NULL") {
          this.pos++
          return Ast.literal(upper === "NULL" ? null : upper === "TRUE")
        }
        if (reservedInExpression.has(upper)) break
        this.pos++
        if (this.atSymbol("(")) return this.call(token)
        return { _tag: "Field", path: this.pathFrom(token.name) }
      }
      case "Symbol":
        if (token.symbol === "(") {
          this.pos++
          const inner = this.expr()
          this.expectSymbol(")", "to close '('")
          return inner
        }
        if (token.symbol === "[") return this.arrayLiteral()
        if (token.symbol === "{") return this.objectLiteral()
        break
      case "End":
        break
    }
    return this.fail(`expected an expression ${this.afterPrevious()}`)
  }

  private call(nameToken: Extract<Token, { readonly _tag: "Ident" }>): Ast.Call {
    const name = nameToken.name.toLowerCase()
    if (!isFunctionName(name)) {
      return this.fail(`unknown function ${nameToken.name} (known: ${Ast.functionNames.join(", ")})`, nameToken)
    }
    this.expectSymbol("(")
    const args = this.atSymbol(")") ? [] : this.commaList(() => this.expr())
    this.expectSymbol(")", `to close ${name}(`)
    const [min, max] = arity[name]
    if (args.length < min || args.length > max) {
      const expected = max === Infinity ? `at least ${min}` : `${min}`
      this.fail(`${name} takes ${expected} argument${min === 1 && max === 1 ? "" : "s"}`, nameToken)
    }
    return Ast.call(name, args)
  }

  private arrayLiteral(): Ast.ArrayLit {
    return this.nested(() => {
      this.expectSymbol("[")
      const items = this.atSymbol("]") ? [] : this.commaList(() => this.expr())
      this.expectSymbol("]", "to close '['")
      return Ast.array(items)
    })
  }

  private objectLiteral(): Ast.ObjectLit {
    return this.nested(() => {
      this.expectSymbol("{")
      const keys = new Set<string>()
      const fields = this.atSymbol("}") ? [] : this.commaList((): Ast.ObjectField => {
        const token = this.next()
        if (token._tag !== "String" && token._tag !== "Ident" && token._tag !== "QuotedIdent") {
          return this.fail("expected a key in object literal", token)
        }
        const key = token._tag === "String" ? token.value : token.name
        if (keys.has(key)) this.fail(`duplicate key ${JSON.stringify(key)} in object literal`, token)
        keys.add(key)
        if (this.peek()._tag === "Arg") {
          this.fail(`expected ':' after key ${describe(token)} (write ': :name' for an argument)`)
        }
        this.expectSymbol(":", `after key ${describe(token)}`)
        return { key, value: this.expr() }
      })
      this.expectSymbol("}", "to close '{'")
      return Ast.object(fields)
    })
  }
}

const isPrefix = (prefix: Ast.Path, path: Ast.Path): boolean =>
  prefix.length <= path.length && prefix.every((s, i) => path[i] === s)
