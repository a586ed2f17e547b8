/**
 * Parsed statements by text: apps run the same few statements with different
 * args, so parsing once keeps the point-read and insert paths cheap.
 */
import { Dql } from "@shoal/core"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"

const MAX = 1024
const cache = new Map<string, Dql.Ast.Statement>()

export const parseCached = (text: string): Effect.Effect<Dql.Ast.Statement, Dql.DqlSyntaxError> => {
  const hit = cache.get(text)
  if (hit !== undefined) return Effect.succeed(hit)
  const parsed = Dql.Parser.parse(text)
  if (Either.isLeft(parsed)) return Effect.fail(parsed.left)
  if (cache.size >= MAX) cache.delete(cache.keys().next().value!)
  cache.set(text, parsed.right)
  return Effect.succeed(parsed.right)
}
