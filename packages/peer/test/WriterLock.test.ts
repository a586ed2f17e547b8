import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Option } from "effect"
import * as WriterLock from "../src/internal/WriterLock.js"

describe("WriterLock", () => {
  it.effect("one holder at a time: a second withLock waits, ifFree answers None meanwhile", () =>
    Effect.gen(function*() {
      const lock = yield* WriterLock.make
      const entered = yield* Deferred.make<void>()
      const leave = yield* Deferred.make<void>()
      const order: Array<string> = []
      const first = yield* Effect.fork(lock.withLock(Effect.gen(function*() {
        order.push("first in")
        yield* Deferred.succeed(entered, undefined)
        yield* Deferred.await(leave)
        order.push("first out")
      })))
      yield* Deferred.await(entered)
      const second = yield* Effect.fork(lock.withLock(Effect.sync(() => order.push("second"))))
      expect(yield* lock.ifFree(Effect.succeed(1))).toEqual(Option.none())
      yield* Effect.yieldNow()
      expect(order).toEqual(["first in"])
      yield* Deferred.succeed(leave, undefined)
      yield* Fiber.join(first)
      yield* Fiber.join(second)
      expect(order).toEqual(["first in", "first out", "second"])
      expect(yield* lock.ifFree(Effect.succeed(2))).toEqual(Option.some(2))
    }))

  it.effect("a failing or interrupted holder, and an interrupted waiter, leave the lock free", () =>
    Effect.gen(function*() {
      const lock = yield* WriterLock.make
      expect(Exit.isFailure(yield* Effect.exit(lock.withLock(Effect.fail("boom"))))).toBe(true)
      expect(yield* lock.ifFree(Effect.succeed("free after a failure"))).toEqual(Option.some("free after a failure"))

      const holding = yield* Deferred.make<void>()
      const holder = yield* Effect.fork(lock.withLock(Effect.zipRight(Deferred.succeed(holding, undefined), Effect.never)))
      yield* Deferred.await(holding)
      const waiter = yield* Effect.fork(lock.withLock(Effect.void))
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(waiter)
      yield* Fiber.interrupt(holder)
      expect(yield* lock.ifFree(Effect.succeed("free after interruptions"))).toEqual(Option.some("free after interruptions"))
      // and waiting still works after that
      yield* lock.withLock(Effect.void)
    }))
})
