import { describe, expect, it } from "@effect/vitest"
import { Protocol, SiteId, Stamp } from "@shoal/core"
import { Effect, FastCheck as fc, Layer, Queue, Stream } from "effect"
import { SmallPeer, Sync } from "../src/index.js"
import { noTransport, pipeWithStats } from "./util/pipe.js"

const layer = Sync.Sync.layer({ appId: "fuzz" }).pipe(
  Layer.provideMerge(SmallPeer.layer({ appId: "fuzz", persistenceDir: "memory" })),
  Layer.provide(noTransport)
)

const hello: Protocol.Message = {
  _tag: "Hello",
  protocolVersion: Protocol.PROTOCOL_VERSION,
  appIdHash: Sync.appIdHash("fuzz"),
  siteId: SiteId.unsafeFromString("00000000000000ff"),
  networkId: 7,
  deviceName: "fuzzer",
  relay: false
}
const welcome: Protocol.Message = {
  _tag: "Welcome",
  protocolVersion: Protocol.PROTOCOL_VERSION,
  siteId: SiteId.unsafeFromString("00000000000000ff"),
  networkId: 7,
  deviceName: "fuzzer"
}
const SENTINEL = -424242

const validFrames = [
  Protocol.encode({ _tag: "Subscribe", queries: [{ id: "q", collection: "c", args: {} }] }),
  Protocol.encode({ _tag: "Ping", n: 1 }),
  Protocol.encode({ _tag: "Ack", batch: 0 }),
  Protocol.encode({
    _tag: "Deltas",
    batch: 1,
    docs: [{ collection: "c", id: "\"x\"", delta: { f: { v: { r: { s: Stamp.Stamp.make("0000000000010000" + "00000000000000ff"), v: 1 } } } } }]
  })
]

/** Well-formed messages a live link must take in its stride. */
const harmless = fc.oneof(
  fc.integer().map((n) => Protocol.encode({ _tag: "Ping", n })),
  fc.integer().map((n) => Protocol.encode({ _tag: "Pong", n })),
  fc.nat().map((batch) => Protocol.encode({ _tag: "Ack", batch })),
  fc.string({ maxLength: 8 }).map((id) => Protocol.encode({ _tag: "Summary", docs: [{ collection: "c", id: JSON.stringify(id), vv: {} }] })),
  fc.nat().map((batch) => Protocol.encode({ _tag: "WriteRejected", batch, reason: "x", docs: [] }))
)

/** Mostly harmless frames; sometimes random bytes or a valid frame with bytes flipped or cut. */
const frame = fc.oneof(
  { weight: 48, arbitrary: harmless },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }) },
  { weight: 1, arbitrary: 
  fc.tuple(fc.constantFrom(...validFrames), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.nat())
    .map(([bytes, flips, cut]) => {
      const out = Uint8Array.from(bytes)
      for (const [i, v] of flips) out[i % out.length] = v
      return out.subarray(0, Math.max(1, out.length - (cut % 4)))
    }) }
)

describe("fuzzing a live link", () => {
  it.live("100k random and mutated frames never crash the peer or corrupt its replica", () =>
    Effect.gen(function*() {
      const ctx = yield* Layer.build(layer)
      const peer = yield* Effect.provide(SmallPeer, ctx)
      const sync = yield* Effect.provide(Sync.Sync, ctx)
      yield* peer.execute("INSERT INTO c DOCUMENTS (:d)", { d: { _id: "keep", v: 42 } })
      const samples = fc.sample(fc.array(frame, { minLength: 20, maxLength: 100, size: "max" }), 2000)
      let sent = 0
      let linksEnded = 0
      let closedOnBadFrame = 0
      for (const frames of samples) {
        const [mine, theirs] = yield* pipeWithStats()
        // The fuzzer completes the handshake, then sends garbage.
        const fiber = yield* Effect.fork(Effect.either(sync.serve(theirs)))
        // Read what the peer sends until the sentinel Pong says it processed every frame.
        const drain = yield* Effect.fork(mine.incoming.pipe(
          Stream.map(Protocol.decode),
          Stream.takeUntil((m) => m._tag === "Right" && m.right._tag === "Pong" && m.right.n === SENTINEL),
          Stream.runDrain,
          Effect.ignore
        ))
        yield* mine.send(Protocol.encode(hello))
        yield* mine.send(Protocol.encode(welcome))
        for (const f of frames) {
          const ok = yield* Effect.either(mine.send(f))
          if (ok._tag === "Left") break
          sent++
        }
        yield* mine.send(Protocol.encode({ _tag: "Ping", n: SENTINEL })).pipe(Effect.ignore)
        yield* drain.await.pipe(Effect.raceFirst(fiber.await), Effect.timeout("5 seconds"), Effect.ignore)
        yield* mine.close()
        const exit = yield* fiber.await
        if (exit._tag === "Success") linksEnded++
        if (exit._tag === "Success" && exit.value._tag === "Left" && exit.value.left.message.includes("bad frame")) closedOnBadFrame++
      }
      expect(sent).toBeGreaterThan(100_000)
      expect(linksEnded).toBe(samples.length)
      // Malformed frames closed their link (and only it: the replica below is intact).
      expect(closedOnBadFrame).toBeGreaterThan(samples.length / 4)
      const still = yield* peer.execute("SELECT * FROM c WHERE _id = 'keep'")
      expect(still.items).toEqual([{ _id: "keep", v: 42 }])
      yield* peer.execute("INSERT INTO c DOCUMENTS (:d)", { d: { _id: "after" } })
      void Queue
    }).pipe(Effect.scoped), 120_000)
})
