/**
 * Live queries: the current result of a SELECT, then one new result per
 * commit that changes it. Commits to other collections are ignored without
 * re-running the query, and a re-run whose result is unchanged emits nothing.
 * Commits that arrive while a query re-runs are coalesced into one re-run.
 */
import type { Json } from "@shoal/core"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { InvalidStatement } from "./Errors.js"
import { parseCached } from "./internal/StatementCache.js"
import * as Execute from "./internal/Execute.js"
import type { ReplicaShape } from "./Replica.js"

export type ObserveError = Execute.ExecuteError

export const observe = (
  replica: ReplicaShape,
  query: string,
  args: Json.JsonObject = {}
): Stream.Stream<ReadonlyArray<Json.JsonObject>, ObserveError> =>
  Stream.unwrapScoped(
    Effect.gen(function*() {
      const parsed = yield* parseCached(query)
      if (parsed._tag !== "Select") {
        return yield* new InvalidStatement({ message: "observe takes a SELECT statement" })
      }
      yield* Execute.checkArgs(parsed, args)
      // Subscribe before the first read so no commit falls between them.
      const commits = yield* replica.subscribe
      const run = replica.read(parsed, args)
      const first = yield* run
      const later = Stream.fromQueue(commits).pipe(
        Stream.chunks,
        Stream.filter(Chunk.some((e) => e.changes.some((c) => c.collection === parsed.collection))),
        Stream.mapEffect(() => run)
      )
      let last = JSON.stringify(first)
      return Stream.concat(Stream.succeed(first), later).pipe(
        Stream.filter((items) => {
          const text = JSON.stringify(items)
          if (items === first) return true
          if (text === last) return false
          last = text
          return true
        })
      )
    })
  )
