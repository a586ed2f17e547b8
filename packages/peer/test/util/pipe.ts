// A pair of in-process connections joined by bounded queues: unit tests of
// the Link without any transport. (Network behaviour is tested with the
// real transports and the simulated network.)
import { Transport } from "@shoal/core"
import { Deferred, Effect, Layer, Queue, Stream } from "effect"

let next = 0

/** Bytes and frames that went through one pipe, per direction. */
export interface PipeStats {
  aToB: { frames: number; bytes: number }
  bToA: { frames: number; bytes: number }
}

export const pipeWithStats = () => Effect.gen(function*() {
  const stats: PipeStats = { aToB: { frames: 0, bytes: 0 }, bToA: { frames: 0, bytes: 0 } }
  const aToB = yield* Queue.bounded<Uint8Array>(64)
  const bToA = yield* Queue.bounded<Uint8Array>(64)
  const closed = yield* Deferred.make<void>()
  const end = (
    name: string,
    out: Queue.Queue<Uint8Array>,
    inc: Queue.Queue<Uint8Array>,
    counter: { frames: number; bytes: number }
  ): Transport.Connection => ({
    id: `pipe-${name}-${next++}`,
    remoteAddress: name,
    send: (frame) =>
      Effect.flatMap(Deferred.isDone(closed), (done) =>
        done
          ? Effect.fail(new Transport.TransportError({ address: name, reason: "closed" }))
          : Effect.sync(() => {
            counter.frames++
            counter.bytes += frame.length
          }).pipe(Effect.zipRight(Queue.offer(out, frame)), Effect.asVoid)),
    incoming: Stream.fromQueue(inc).pipe(Stream.interruptWhen(Deferred.await(closed))),
    close: () => Deferred.succeed(closed, undefined).pipe(Effect.asVoid),
    closed: Deferred.await(closed)
  })
  return [end("b", aToB, bToA, stats.aToB), end("a", bToA, aToB, stats.bToA), stats] as const
})

export const pipe = Effect.suspend(() => Effect.map(pipeWithStats(), ([a, b]) => [a, b] as const))

/** A transport that neither listens nor dials (links are handed in with Sync.accept). */
export const noTransport = Layer.succeed(Transport.Transport, {
  kind: "pipe",
  dial: (address) => Effect.fail(new Transport.TransportError({ address, reason: "pipe transport cannot dial" })),
  listen: Stream.empty,
  discover: Stream.empty
})
