/**
 * Tokenizer for DQL. Produces the whole token list up front (statements are
 * short); positions are 1-based line/column (columns count UTF-16 units).
 *
 * - identifiers: `[letter_][letter digit _]*`; keywords are identifiers
 *   matched case-insensitively by the parser (so `order` is still usable as
 *   a field name where no keyword is expected)
 * - backquoted identifiers: `` `any name` `` (a backquote inside is doubled)
 * - strings: `'it''s'` (SQL style) or `"JSON \"style\""` (JSON escapes)
 * - numbers: `12`, `1.5`, `2e-3` (no sign: `-` is an operator)
 * - arguments: `:name` (no space after the colon)
 * - comments: `-- to end of line` and `/* block *\/`
 */
import * as Either from "effect/Either"
import { DqlSyntaxError } from "./Errors.js"

export type SymbolText =
  | "=="
  | "!="
  | "<>"
  | "<="
  | ">="
  | "="
  | "<"
  | ">"
  | "("
  | ")"
  | ","
  | "."
  | "["
  | "]"
  | "{"
  | "}"
  | ":"
  | "*"
  | "+"
  | "-"
  | "/"
  | "%"
  | ";"

const symbols: ReadonlyArray<SymbolText> = [
  "==",
  "!=",
  "<>",
  "<=",
  ">=",
  "=",
  "<",
  ">",
  "(",
  ")",
  ",",
  ".",
  "[",
  "]",
  "{",
  "}",
  ":",
  "*",
  "+",
  "-",
  "/",
  "%",
  ";"
]

interface Position {
  /** the token's source text */
  readonly text: string
  readonly line: number
  readonly column: number
}

export type Token =
  | (Position & { readonly _tag: "Ident"; readonly name: string })
  | (Position & { readonly _tag: "QuotedIdent"; readonly name: string })
  | (Position & { readonly _tag: "Number"; readonly value: number })
  | (Position & { readonly _tag: "String"; readonly value: string })
  | (Position & { readonly _tag: "Arg"; readonly name: string })
  | (Position & { readonly _tag: "Symbol"; readonly symbol: SymbolText })
  | (Position & { readonly _tag: "End" })

/**
 * Words with a meaning somewhere in the grammar. The parser recognises them
 * by position only, but the printer backquotes field names that spell one.
 */
export const keywords: ReadonlySet<string> = new Set([
  "SELECT", "FROM", "WHERE", "ORDER", "BY", "ASC", "DESC", "LIMIT", "OFFSET", "AS",
  "INSERT", "INTO", "DOCUMENTS", "ON", "ID", "CONFLICT", "FAIL", "DO", "NOTHING",
  "UPDATE", "SET", "UNSET", "APPLY", "PN_INCREMENT", "DELETE", "EVICT",
  "CREATE", "DROP", "INDEX", "IF", "EXISTS", "EXPLAIN",
  "AND", "OR", "NOT", "IN", "LIKE", "IS", "NULL", "MISSING", "TRUE", "FALSE"
])

const whitespace = /\s+/y
const lineComment = /--[^\n]*/y
const blockComment = /\/\*[\s\S]*?\*\//y
const identifier = /[\p{L}_][\p{L}\p{M}\p{N}_]*/uy
const argument = /:([\p{L}_][\p{L}\p{M}\p{N}_]*)/uy
const number = /\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/y
const identChar = /[\p{L}\p{M}\p{N}_.]/u
const quotedIdent = /`((?:[^`]|``)*)`/y
const singleString = /'((?:[^']|'')*)'/y
const doubleString = /"(?:[^"\\]|\\[\s\S])*"/y

/** Identifier text that lexes as a single plain identifier. */
export const isPlainIdentifier = (name: string): boolean => /^[A-Za-z_][A-Za-z0-9_]*$/.test(name)

/** How an error message names a token: `'FORM'`, or `end of input`. */
export const describe = (token: Pick<Token, "_tag" | "text">): string =>
  token._tag === "End" ? "end of input" : `'${token.text}'`

/** `<what> at line L, column C, found '<token>'` */
export const syntaxError = (what: string, token: Pick<Token, "_tag" | "text" | "line" | "column">): DqlSyntaxError =>
  new DqlSyntaxError({
    message: `${what} at line ${token.line}, column ${token.column}, found ${describe(token)}`,
    line: token.line,
    column: token.column,
    token: token._tag === "End" ? "" : token.text
  })

/** Split `text` into tokens, ending with an `End` token. */
export const tokenize = (text: string): Either.Either<ReadonlyArray<Token>, DqlSyntaxError> => {
  const tokens: Array<Token> = []
  let offset = 0
  let line = 1
  let lineStart = 0

  const match = (re: RegExp): RegExpExecArray | null => {
    re.lastIndex = offset
    return re.exec(text)
  }
  /** advance over consumed text, tracking line starts */
  const advance = (consumed: string) => {
    for (let i = 0; i < consumed.length; i++) {
      if (consumed.charCodeAt(i) === 10) {
        line++
        lineStart = offset + i + 1
      }
    }
    offset += consumed.length
  }
  const at = (len: number) => ({ text: text.slice(offset, offset + len), line, column: offset - lineStart + 1 })
  const fail = (what: string, len: number) =>
    Either.left(syntaxError(what, { _tag: "Ident", ...at(len) }))

  while (offset < text.length) {
    const m = match(whitespace) ?? match(lineComment) ?? match(blockComment)
    if (m) {
      advance(m[0])
      continue
    }
    if (text.startsWith("/*", offset)) return fail("unterminated comment", 2)

    const num = match(number)
    if (num) {
      const next = text.codePointAt(offset + num[0].length)
      if (next !== undefined && identChar.test(String.fromCodePoint(next))) {
        let end = offset + num[0].length
        while (end < text.length && identChar.test(text[end]!)) end++
        return fail("invalid number", end - offset)
      }
      const value = Number(num[0])
      if (!Number.isFinite(value)) return fail("number out of range", num[0].length)
      tokens.push({ _tag: "Number", value, ...at(num[0].length) })
      advance(num[0])
      continue
    }
    const id = match(identifier)
    if (id) {
      tokens.push({ _tag: "Ident", name: id[0], ...at(id[0].length) })
      advance(id[0])
      continue
    }
    const arg = match(argument)
    if (arg) {
      tokens.push({ _tag: "Arg", name: arg[1]!, ...at(arg[0].length) })
      advance(arg[0])
      continue
    }
    const qi = match(quotedIdent)
    if (qi) {
      const name = qi[1]!.replaceAll("``", "`")
      if (name.length === 0) return fail("empty identifier", qi[0].length)
      tokens.push({ _tag: "QuotedIdent", name, ...at(qi[0].length) })
      advance(qi[0])
      continue
    }
    const ss = match(singleString)
    if (ss) {
      tokens.push({ _tag: "String", value: ss[1]!.replaceAll("''", "'"), ...at(ss[0].length) })
      advance(ss[0])
      continue
    }
    const ds = match(doubleString)
    if (ds) {
      const value = parseJsonString(ds[0])
      if (value === undefined) return fail("invalid string (JSON escapes expected)", ds[0].length)
      tokens.push({ _tag: "String", value, ...at(ds[0].length) })
      advance(ds[0])
      continue
    }
    const c = text[offset]!
    if (c === "'" || c === '"' || c === "`") {
      const what = c === "`" ? "unterminated identifier" : "unterminated string"
      return fail(what, text.length - offset)
    }
    const symbol = symbols.find((s) => text.startsWith(s, offset))
    if (symbol !== undefined) {
      tokens.push({ _tag: "Symbol", symbol, ...at(symbol.length) })
      advance(symbol)
      continue
    }
    const cp = text.codePointAt(offset) ?? 0
    return fail("unexpected character", String.fromCodePoint(cp).length)
  }
  tokens.push({ _tag: "End", text: "", line, column: offset - lineStart + 1 })
  return Either.right(tokens)
}

const parseJsonString = (quoted: string): string | undefined => {
  try {
    const value: unknown = JSON.parse(quoted)
    return typeof value === "string" ? value : undefined
  } catch {
    return undefined
  }
}
