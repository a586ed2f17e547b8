// A pair of in-process connections joined by bounded queues: unit tests of
// the Link without any transport. (Network behaviour is tested with the
// real transports and the simulated network.)
import { Transport } from "@shoal/core"
import { Deferred, Effect, Layer, Queue, Stream } from "effect"

let next = 0

export const pipe = Effect.gen(function*() {
  const aToB = yield* Queue.bounded<Uint8Array>(64)
  const bToA = yield* Queue.bounded<Uint8Array>(64)
  const closed = yield* Deferred.make<void>()
  const end = (name: string, out: Queue.Queue<Uint8Array>, inc: Queue.Queue<Uint8Array>): Transport.Connection => ({
    id: `pipe-${name}-${next++}`,
    remoteAddress: name,
    send: (frame) =>
      Effect.flatMap(Deferred.isDone(closed), (done) =>
        done ? Effect.fail(new Transport.TransportError({ address: name, reason: "closed" })) : Queue.offer(out, frame).pipe(Effect.asVoid)),
    incoming: Stream.fromQueue(inc).pipe(Stream.interruptWhen(Deferred.await(closed))),
    close: () => Deferred.succeed(closed, undefined).pipe(Effect.asVoid),
    closed: Deferred.await(closed)
  })
  return [end("b", aToB, bToA), end("a", bToA, aToB)] as const
})

/** A transport that neither listens nor dials (links are handed in with Sync.accept). */
export const noTransport = Layer.succeed(Transport.Transport, {
  kind: "pipe",
  dial: (address) => Effect.fail(new Transport.TransportError({ address, reason: "pipe transport cannot dial" })),
  listen: Stream.empty,
  discover: Stream.empty
})
