import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Stream } from "effect"
import { pipePeer, until } from "./util/peers.js"
import { pipe } from "./util/pipe.js"

describe("EVICT and presence", () => {
  it.live("an evicted document is not re-sent unless the peer subscribes again", () =>
    Effect.scoped(Effect.gen(function*() {
      const a = yield* pipePeer("a")
      const b = yield* pipePeer("b")
      yield* a.peer.execute("INSERT INTO t DOCUMENTS (:d)", { d: [{ _id: "x", v: 1 }, { _id: "y", v: 1 }] })
      const sub = yield* b.sync.registerSubscription("SELECT * FROM t")
      const presence = yield* b.sync.presence.observe().pipe(
        Stream.filter((g) => g.remotePeers.length === 1),
        Stream.take(1),
        Stream.runCollect,
        Effect.fork
      )
      const [ca, cb] = yield* pipe
      yield* a.sync.accept(ca)
      yield* b.sync.accept(cb)
      const seen = Chunk.toReadonlyArray(yield* presence.await.pipe(Effect.flatten))
      expect(seen[0]!.remotePeers[0]!.deviceName).toBe("a")
      const count = Effect.map(b.peer.execute("SELECT * FROM t"), (r) => r.items.length)
      yield* until(Effect.map(count, (n) => n === 2))

      yield* b.peer.execute("EVICT FROM t WHERE _id = 'x'")
      expect(yield* count).toBe(1)
      yield* a.peer.execute("UPDATE t SET v = 2")
      yield* until(Effect.map(b.peer.execute("SELECT v FROM t WHERE _id = 'y'"), (r) => r.items[0]?.v === 2))
      yield* Effect.sleep("100 millis")
      expect((yield* b.peer.execute("SELECT * FROM t WHERE _id = 'x'")).items).toEqual([])

      // Subscribing again brings it back, current.
      yield* sub.cancel
      yield* Effect.sleep("50 millis")
      yield* b.sync.registerSubscription("SELECT * FROM t")
      yield* until(Effect.map(b.peer.execute("SELECT v FROM t WHERE _id = 'x'"), (r) => r.items[0]?.v === 2))
    })))
})

describe("documents leaving a subscription", () => {
  it.live("an update that moves a document out of the remote's query still reaches it, across a reconnect", () =>
    Effect.scoped(Effect.gen(function*() {
      const a = yield* pipePeer("a")
      const b = yield* pipePeer("b")
      yield* a.peer.execute("INSERT INTO todo DOCUMENTS (:d)", { d: [{ _id: "1", done: false }, { _id: "2", done: true }] })
      yield* b.sync.registerSubscription("SELECT * FROM todo WHERE done = false")
      const open = Effect.gen(function*() {
        const [ca, cb] = yield* pipe
        yield* a.sync.accept(ca)
        yield* b.sync.accept(cb)
        return ca
      })
      const first = yield* open
      const open_ = Effect.map(b.peer.execute("SELECT _id FROM todo WHERE done = false"), (r) => r.items.map((d) => d._id))
      yield* until(Effect.map(open_, (ids) => ids.join() === "1"))
      yield* first.close()
      yield* until(Effect.map(a.sync.linkCount, (n) => n === 0))
      yield* a.peer.execute("UPDATE todo SET done = true WHERE _id = '1'")
      yield* open
      yield* until(Effect.map(open_, (ids) => ids.length === 0))
      // The document that never matched was never sent.
      expect((yield* b.peer.execute("SELECT * FROM todo WHERE _id = '2'")).items).toEqual([])
    })))
})
