/**
 * DQL: the query language of Shoal (a subset of Ditto's DQL).
 *
 * Used as `Dql` from the package root:
 * ```ts
 * const statement = Dql.Parser.parse("SELECT * FROM tasks WHERE done = false ORDER BY due LIMIT 10")
 * ```
 *
 * `Ast` (syntax tree), `Lexer`/`Parser` (text → AST), `Printer` (AST → text),
 * `Evaluate` (AST over JSON documents), `Sql` (WHERE pushdown to SQLite).
 * Reference: docs/dql.md.
 */
export * as Ast from "./Ast.js"
export * as Evaluate from "./Evaluate.js"
export * as Lexer from "./Lexer.js"
export * as Parser from "./Parser.js"
export * as Printer from "./Printer.js"
export * as Sql from "./Sql.js"
export * from "./Errors.js"
export { parse, parseEffect, parseExpression } from "./Parser.js"
export { print, printExpr } from "./Printer.js"
