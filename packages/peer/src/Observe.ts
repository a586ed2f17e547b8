/**
 * Live queries: the current result of a SELECT, then one new result per
 * commit that changes it. The query re-runs inside the replica's writer right
 * after each commit that touches its collection (so each result is the state
 * as of that commit, and it is queued before the write's call returns);
 * commits to other collections cost nothing, and a re-run whose result is
 * unchanged emits nothing. A consumer more than `OBSERVE_BUFFER` results
 * behind loses the oldest ones: a live query's latest result is what counts.
 */
import type { Json } from "@shoal/core"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Mailbox from "effect/Mailbox"
import * as Stream from "effect/Stream"
import { InvalidStatement } from "./Errors.js"
import { parseCached } from "./internal/StatementCache.js"
import * as Execute from "./internal/Execute.js"
import type { ReplicaShape } from "./Replica.js"

export type ObserveError = Execute.ExecuteError

export const OBSERVE_BUFFER = 64

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
      const results = yield* Mailbox.make<ReadonlyArray<Json.JsonObject>, ObserveError>({
        capacity: OBSERVE_BUFFER,
        strategy: "sliding"
      })
      const run = replica.read(parsed, args)
      let last = ""
      const emit = (items: ReadonlyArray<Json.JsonObject>, always: boolean) => {
        const text = JSON.stringify(items)
        if (!always && text === last) return
        last = text
        results.unsafeOffer(items)
      }
      yield* replica.watch(
        Effect.map(run, (items) => emit(items, true)),
        (events) =>
          events.some((e) => e.changes.some((c) => c.collection === parsed.collection))
            ? Effect.match(run, {
              onFailure: (e) => void results.unsafeDone(Exit.fail(e)),
              onSuccess: (items) => emit(items, false)
            })
            : Effect.void
      )
      return Mailbox.toStream(results)
    })
  )
