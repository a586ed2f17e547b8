import { describe, expect, it } from "@effect/vitest"
import { Transport } from "@shoal/core"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { MemoryNetwork } from "../src/index.js"

const frame = (n: number, size = 4) => {
  const bytes = new Uint8Array(size)
  new DataView(bytes.buffer).setUint32(0, n)
  return bytes
}
const num = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset).getUint32(0)

/** Network + two nodes, b listening; returns a's connection to b and b's end. */
const pair = (options?: MemoryNetwork.Options, live = false) =>
  Effect.gen(function*() {
    const net = yield* MemoryNetwork.make(options)
    const a = yield* net.transport("a")
    const b = yield* net.transport("b")
    const accepted = yield* b.listen.pipe(Stream.take(1), Stream.runHead, Effect.fork)
    const dialing = yield* Effect.fork(a.dial("b"))
    if (!live) yield* TestClock.adjust("1 second") // the handshake round trip, when there is latency
    const ab = yield* Fiber.join(dialing)
    const ba = Option.getOrThrow(yield* Fiber.join(accepted))
    return { net, a, b, ab, ba }
  })

/** Record arrival times (TestClock ms) of frames on a connection. */
const arrivals = (connection: Transport.Connection) =>
  Effect.gen(function*() {
    const seen = yield* Ref.make<ReadonlyArray<{ readonly n: number; readonly at: number }>>([])
    const fiber = yield* connection.incoming.pipe(
      Stream.runForEach((bytes) =>
        Effect.flatMap(TestClock.currentTimeMillis, (at) => Ref.update(seen, (xs) => [...xs, { n: num(bytes), at }]))
      ),
      Effect.fork
    )
    return { seen, fiber }
  })

describe("MemoryNetwork", () => {
  it.scoped("frames flow both ways, in order; a clean close ends the other side", () =>
    Effect.gen(function*() {
      const { ab, ba } = yield* pair()
      expect(ab.remoteAddress).toBe("b")
      expect(ba.remoteAddress).toBe("a")
      const received = yield* ba.incoming.pipe(Stream.runCollect, Effect.fork)
      for (let i = 0; i < 1000; i++) yield* ab.send(frame(i))
      yield* ba.send(frame(42))
      const back = yield* ab.incoming.pipe(Stream.take(1), Stream.runCollect)
      expect(Chunk.toReadonlyArray(back).map(num)).toEqual([42])
      yield* ab.close("done")
      const all = yield* Fiber.join(received)
      expect(Chunk.toReadonlyArray(all).map(num)).toEqual(Array.from({ length: 1000 }, (_, i) => i))
      yield* ba.closed
      const late = yield* Effect.exit(ba.send(frame(1)))
      expect(Exit.isFailure(late)).toBe(true)
      yield* ab.close() // idempotent
    }))

  it.scoped("latency is honoured (TestClock)", () =>
    Effect.gen(function*() {
      const { ab, ba } = yield* pair({ defaults: { latency: "100 millis" } })
      const { seen } = yield* arrivals(ba)
      const t0 = yield* TestClock.currentTimeMillis
      yield* ab.send(frame(1))
      yield* TestClock.adjust("99 millis")
      expect(yield* Ref.get(seen)).toEqual([])
      yield* TestClock.adjust("1 millis")
      expect(yield* Ref.get(seen)).toEqual([{ n: 1, at: t0 + 100 }])
    }))

  it.scoped("dialing takes a round trip", () =>
    Effect.gen(function*() {
      const net = yield* MemoryNetwork.make({ defaults: { latency: "50 millis" } })
      const a = yield* net.transport("a")
      yield* net.transport("b")
      const dialing = yield* Effect.fork(a.dial("b"))
      yield* TestClock.adjust("99 millis")
      expect(Option.isNone(yield* Fiber.poll(dialing))).toBe(true)
      yield* TestClock.adjust("1 millis")
      expect(Option.isSome(yield* Fiber.poll(dialing))).toBe(true)
    }))

  it.scoped("bandwidth shapes delivery time", () =>
    Effect.gen(function*() {
      // 1000 B/s: a 100-byte frame takes 100 ms on the wire; 10 of them take 1 s
      const { ab, ba } = yield* pair({ defaults: { bandwidth: 1000, latency: "10 millis" } })
      const { seen } = yield* arrivals(ba)
      const t0 = yield* TestClock.currentTimeMillis
      for (let i = 0; i < 10; i++) yield* ab.send(frame(i, 100))
      yield* TestClock.adjust("2 seconds")
      const times = (yield* Ref.get(seen)).map((s) => s.at - t0)
      expect(times).toEqual(Array.from({ length: 10 }, (_, i) => (i + 1) * 100 + 10))
    }))

  it.scoped("fractional timings wake on whole milliseconds (TestClock stays integral)", () =>
    Effect.gen(function*() {
      // 100 B at 3000 B/s = 33.3 ms per frame
      const { ab, ba } = yield* pair({ defaults: { bandwidth: 3000 } })
      const seen = yield* Ref.make<ReadonlyArray<number>>([])
      yield* ba.incoming.pipe(
        // currentTimeNanos throws on a fractional TestClock instant
        Stream.runForEach(() => Effect.flatMap(Clock.currentTimeNanos, (ns) => Ref.update(seen, (xs) => [...xs, Number(ns / 1_000_000n)]))),
        Effect.fork
      )
      const t0 = yield* TestClock.currentTimeMillis
      for (let i = 0; i < 3; i++) yield* ab.send(frame(i, 100))
      yield* TestClock.adjust("1 second")
      expect((yield* Ref.get(seen)).map((t) => t - t0)).toEqual([34, 67, 100])
    }))

  it.scoped("per-link conditions override the defaults, one way or both", () =>
    Effect.gen(function*() {
      const { ab, ba, net } = yield* pair({ defaults: { latency: "10 millis" } })
      yield* net.setLink("a", "b", { latency: "300 millis" }, { oneWay: true })
      const toB = yield* arrivals(ba)
      const toA = yield* arrivals(ab)
      const t0 = yield* TestClock.currentTimeMillis
      yield* ab.send(frame(1))
      yield* ba.send(frame(2))
      yield* TestClock.adjust("1 second")
      expect((yield* Ref.get(toB.seen)).map((s) => s.at - t0)).toEqual([300])
      expect((yield* Ref.get(toA.seen)).map((s) => s.at - t0)).toEqual([10])
    }))

  it.scoped("jitter delays but never reorders; reordering does", () =>
    Effect.gen(function*() {
      const { ab, ba, net } = yield* pair({ seed: 7, defaults: { latency: "20 millis", jitter: "30 millis" } })
      const { seen } = yield* arrivals(ba)
      for (let i = 0; i < 200; i++) yield* ab.send(frame(i))
      yield* TestClock.adjust("1 second")
      const inOrder = (yield* Ref.get(seen)).map((s) => s.n)
      expect(inOrder).toEqual(Array.from({ length: 200 }, (_, i) => i))

      yield* net.setDefaults({ latency: "20 millis", reorder: 0.2, reorderDelay: "50 millis" })
      yield* Ref.set(seen, [])
      for (let i = 0; i < 200; i++) {
        yield* ab.send(frame(i))
        if (i % 5 === 4) yield* TestClock.adjust("1 millis")
      }
      yield* TestClock.adjust("1 second")
      const got = (yield* Ref.get(seen)).map((s) => s.n)
      expect([...got].sort((x, y) => x - y)).toEqual(Array.from({ length: 200 }, (_, i) => i)) // nothing lost
      expect(got).not.toEqual([...got].sort((x, y) => x - y)) // but some overtaken
    }))

  it.scoped("loss drops about the configured share of 10k frames (fixed seed)", () =>
    Effect.gen(function*() {
      const { ab, ba, net } = yield* pair({ seed: 1234, defaults: { loss: 0.1 } })
      const count = yield* ba.incoming.pipe(Stream.runCount, Effect.fork)
      for (let i = 0; i < 10_000; i++) yield* ab.send(frame(i))
      yield* ab.close()
      const received = yield* Fiber.join(count)
      // binomial(10k, 0.1): sd = 30; allow 5 sd
      expect(received).toBeGreaterThan(9000 - 150)
      expect(received).toBeLessThan(9000 + 150)
      const stats = yield* net.stats
      expect(stats["a"]!.framesSent).toBe(10_000)
      expect(stats["a"]!.framesDropped).toBe(10_000 - received)
      expect(stats["b"]!.framesReceived).toBe(received)
    }))

  it.scoped("the same seed gives the same run", () =>
    Effect.gen(function*() {
      const run = Effect.scoped(Effect.gen(function*() {
        const { ab, ba } = yield* pair({ seed: 99, defaults: { loss: 0.3 } })
        const got = yield* ba.incoming.pipe(Stream.map(num), Stream.runCollect, Effect.fork)
        for (let i = 0; i < 500; i++) yield* ab.send(frame(i))
        yield* ab.close()
        return Chunk.toReadonlyArray(yield* Fiber.join(got))
      }))
      expect(yield* run).toEqual(yield* run)
    }))

  it.scoped("backpressure: send suspends when the receiver stops reading", () =>
    Effect.gen(function*() {
      const { ab, ba } = yield* pair({ bufferFrames: 4, window: 4 })
      const sent = yield* Ref.make(0)
      const sender = yield* Effect.fork(
        Effect.forEach(Array.from({ length: 100 }, (_, i) => i), (i) =>
          Effect.zipRight(ab.send(frame(i)), Ref.update(sent, (n) => n + 1)))
      )
      yield* TestClock.adjust("10 millis")
      const stalled = yield* Ref.get(sent)
      expect(stalled).toBeLessThanOrEqual(4 + 4 + 1)
      expect(Option.isNone(yield* Fiber.poll(sender))).toBe(true)
      // reading releases the sender
      const got = yield* ba.incoming.pipe(Stream.take(100), Stream.map(num), Stream.runCollect)
      yield* Fiber.join(sender)
      expect(Chunk.toReadonlyArray(got)).toEqual(Array.from({ length: 100 }, (_, i) => i))
    }))

  it.scoped("partition cuts both sides and blocks dials; heal allows a redial", () =>
    Effect.gen(function*() {
      const { a, ab, b, ba, net } = yield* pair()
      const aIn = yield* Effect.fork(Stream.runDrain(ab.incoming))
      const bIn = yield* Effect.fork(Stream.runDrain(ba.incoming))
      yield* net.partition(["a"], ["b", "c"])
      const ea = yield* Fiber.await(aIn)
      const eb = yield* Fiber.await(bIn)
      expect(Exit.isFailure(ea) && Exit.isFailure(eb)).toBe(true)
      yield* ab.closed
      yield* ba.closed
      const sendAfter = yield* Effect.flip(ab.send(frame(1)))
      expect(sendAfter).toBeInstanceOf(Transport.TransportError)
      const dialAcross = yield* Effect.flip(a.dial("b"))
      expect(dialAcross.reason).toContain("partition")
      expect(yield* net.connections).toEqual([])

      yield* net.heal
      const accepted = yield* b.listen.pipe(Stream.take(1), Stream.runHead, Effect.fork)
      const again = yield* a.dial("b")
      const other = Option.getOrThrow(yield* Fiber.join(accepted))
      yield* again.send(frame(5))
      const got = yield* other.incoming.pipe(Stream.take(1), Stream.runCollect)
      expect(Chunk.toReadonlyArray(got).map(num)).toEqual([5])
    }))

  it.scoped("crash cuts connections and ends listen; restart accepts again", () =>
    Effect.gen(function*() {
      const { a, ab, b, net } = yield* pair()
      const listening = yield* Effect.fork(Stream.runDrain(b.listen))
      const aIn = yield* Effect.fork(Stream.runDrain(ab.incoming))
      yield* net.crash("b")
      expect(Exit.isFailure(yield* Fiber.await(aIn))).toBe(true)
      expect(Exit.isSuccess(yield* Fiber.await(listening))).toBe(true) // listen ended
      const refused = yield* Effect.flip(a.dial("b"))
      expect(refused.reason).toContain("refused")
      expect(Exit.isFailure(yield* Effect.exit(b.dial("a")))).toBe(true) // a crashed node cannot dial

      yield* net.restart("b")
      const accepted = yield* b.listen.pipe(Stream.take(1), Stream.runHead, Effect.fork)
      const conn = yield* a.dial("b")
      const inbound = Option.getOrThrow(yield* Fiber.join(accepted))
      yield* inbound.send(frame(9))
      expect(Chunk.toReadonlyArray(yield* ab.incoming.pipe(Stream.runCollect, Effect.exit, Effect.as(Chunk.empty<Uint8Array>()))))
        .toEqual([])
      expect(Chunk.toReadonlyArray(yield* conn.incoming.pipe(Stream.take(1), Stream.runCollect)).map(num)).toEqual([9])
    }))

  it.scoped("dialing an unknown node fails; closing the dial scope closes the connection", () =>
    Effect.gen(function*() {
      const net = yield* MemoryNetwork.make()
      const a = yield* net.transport("a")
      const b = yield* net.transport("b")
      expect((yield* Effect.flip(a.dial("nowhere"))).address).toBe("nowhere")
      const accepted = yield* b.listen.pipe(Stream.take(1), Stream.runHead, Effect.fork)
      yield* Effect.scoped(a.dial("b"))
      const inbound = Option.getOrThrow(yield* Fiber.join(accepted))
      yield* inbound.closed
      expect(Chunk.size(yield* Stream.runCollect(inbound.incoming))).toBe(0) // clean end
      expect(yield* net.connections).toEqual([])
      expect((yield* net.stats)["a"]!.connectionsOpened).toBe(1)
    }))

  it.scoped("discover announces the other running nodes", () =>
    Effect.gen(function*() {
      const net = yield* MemoryNetwork.make()
      const a = yield* net.transport("a", { announce: { networkId: 1, deviceName: "A", appIdHash: 7 } })
      yield* net.transport("b", { announce: { networkId: 2, deviceName: "B", appIdHash: 7 } })
      const first = yield* a.discover.pipe(Stream.take(1), Stream.runCollect)
      expect(Chunk.toReadonlyArray(first)).toEqual([{ address: "b", networkId: 2, deviceName: "B", appIdHash: 7 }])
      const later = yield* a.discover.pipe(Stream.drop(1), Stream.take(1), Stream.runCollect, Effect.fork)
      yield* Effect.yieldNow()
      yield* net.transport("c", { announce: { networkId: 3, deviceName: "C", appIdHash: 7 } })
      expect(Chunk.toReadonlyArray(yield* Fiber.join(later)).map((x) => x.address)).toEqual(["c"])
    }))

  it.live("throughput without conditions (live clock)", () =>
    Effect.scoped(Effect.gen(function*() {
      const { ab, ba } = yield* pair({}, true)
      const n = 100_000
      const start = Date.now()
      const count = yield* ba.incoming.pipe(Stream.runCount, Effect.fork)
      for (let i = 0; i < n; i++) yield* ab.send(frame(i, 64))
      yield* ab.close()
      expect(yield* Fiber.join(count)).toBe(n)
      console.log(`memory transport: ${Math.round(n / ((Date.now() - start) / 1000))} frames/s`)
    })))

  it.live("live clock: fractional latency still delivers every frame, including the last", () =>
    Effect.scoped(Effect.gen(function*() {
      // a live setTimeout works in whole ms and may fire before a fractional deadline:
      // a lone frame must not be left behind
      const { ab, ba } = yield* pair({ defaults: { latency: "1.3 millis" } }, true)
      const inbox = yield* Queue.unbounded<Uint8Array>()
      yield* ba.incoming.pipe(Stream.runForEach((f) => Queue.offer(inbox, f)), Effect.fork)
      for (let i = 0; i < 50; i++) {
        yield* ab.send(frame(i))
        const got = yield* Queue.take(inbox).pipe(Effect.timeout("1 second"))
        expect(num(got)).toBe(i)
      }
    })))

  it.effect("MemoryNetwork.transport(node) provides the Transport service", () =>
    Effect.gen(function*() {
      const transport = yield* Transport.Transport
      expect(transport.kind).toBe("memory")
      expect(Chunk.size(yield* Stream.runCollect(transport.discover.pipe(Stream.take(0))))).toBe(0)
    }).pipe(Effect.provide(MemoryNetwork.transport("x").pipe(Layer.provide(MemoryNetwork.layer())))))
})
