/**
 * Parsed statements by text: apps run the same few statements with different
 * args, so parsing once keeps the point-read and insert paths cheap.
 */
import { Dql } from "@shoal/core"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"

const MAX = 1024
const cache = new Map<string, Dql.Ast.Statement>()

export const parseSync = (text: string): Either.Either<Dql.Ast.Statement, Dql.DqlSyntaxError> => {
  const hit = cache.get(text)
  if (hit !== undefined) return Either.right(hit)
  const parsed = Dql.Parser.parse(text)
  if (Either.isLeft(parsed)) return parsed
  if (cache.size >= MAX) {
    const oldest = cache.keys().next()
    if (oldest.done !== true) cache.delete(oldest.value)
  }
  cache.set(text, parsed.right)
  return parsed
}

export const parseCached = (text: string): Effect.Effect<Dql.Ast.Statement, Dql.DqlSyntaxError> => {
  const parsed = parseSync(text)
  return Either.isLeft(parsed) ? Effect.fail(parsed.left) : Effect.succeed(parsed.right)
}
