// In-memory Small Peers with Sync and no transport: links are handed in
// with `sync.accept(pipe end)` (see pipe.ts).
import { type Duration, Effect, Layer, Schedule } from "effect"
import { SmallPeer, Sync } from "../../src/index.js"
import { noTransport } from "./pipe.js"

export const pipePeer = (name: string, options: Partial<Sync.SyncOptions> = {}) =>
  Effect.gen(function*() {
    const ctx = yield* Layer.build(
      Sync.Sync.layer({ appId: "app", deviceName: name, ...options }).pipe(
        Layer.provideMerge(SmallPeer.layer({ appId: "app", persistenceDir: "memory" })),
        Layer.provide(noTransport)
      )
    )
    return { peer: yield* Effect.provide(SmallPeer, ctx), sync: yield* Effect.provide(Sync.Sync, ctx) }
  })

/** Retry `check` until it is true (or give up after `within`). */
export const until = <E>(check: Effect.Effect<boolean, E>, within: Duration.DurationInput = "30 seconds") =>
  check.pipe(
    Effect.filterOrFail((ok) => ok, () => "not yet"),
    Effect.retry(Schedule.spaced("10 millis").pipe(Schedule.upTo(within)))
  )
