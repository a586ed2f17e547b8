import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { pipePeer, until } from "./util/peers.js"
import { pipeWithStats } from "./util/pipe.js"

/** Bytes on the wire (both directions) for one changed document after an initial sync of `n` documents. */
const bytesForOneChange = (n: number) =>
  Effect.scoped(Effect.gen(function*() {
    const a = yield* pipePeer("a")
    const b = yield* pipePeer("b")
    const docs = Array.from({ length: n }, (_, i) => ({ _id: `d${i}`, a: i, b: "text", c: true, d: [1, 2], e: { x: 1 } }))
    for (let i = 0; i < n; i += 1000) yield* a.peer.execute("INSERT INTO c DOCUMENTS (:docs)", { docs: docs.slice(i, i + 1000) })
    yield* b.sync.registerSubscription("SELECT * FROM c")
    const count = Effect.map(b.peer.execute("SELECT * FROM c"), (r) => r.items.length)
    const initial = yield* Effect.scoped(Effect.gen(function*() {
      const [ca, cb, stats] = yield* pipeWithStats()
      yield* a.sync.accept(ca)
      yield* b.sync.accept(cb)
      yield* until(Effect.map(count, (c) => c === n), "60 seconds")
      // Let the last acks land so A's cursor for B is persisted.
      yield* Effect.sleep("100 millis")
      yield* ca.close()
      return stats.aToB.bytes
    }))
    yield* until(Effect.map(a.sync.linkCount, (c) => c === 0))
    yield* a.peer.execute("UPDATE c SET a = -1 WHERE _id = 'd7'")
    const [ca, cb, stats] = yield* pipeWithStats()
    yield* a.sync.accept(ca)
    yield* b.sync.accept(cb)
    yield* until(Effect.map(b.peer.execute("SELECT a FROM c WHERE _id = 'd7'"), (r) => r.items[0]?.a === -1))
    yield* Effect.sleep("50 millis")
    return { initial, reconnect: stats.aToB.bytes + stats.bToA.bytes }
  }))

describe("reconnect cost", () => {
  it.live("bytes for one changed document after an initial sync do not depend on the data set size", () =>
    Effect.gen(function*() {
      const small = yield* bytesForOneChange(1_000)
      const large = yield* bytesForOneChange(20_000)
      expect(large.initial).toBeGreaterThan(small.initial * 10)
      expect(large.reconnect).toBeLessThan(4096)
      // Only varint widths of seq numbers may differ.
      expect(Math.abs(large.reconnect - small.reconnect)).toBeLessThan(32)
    }), 120_000)
})
