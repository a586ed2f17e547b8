// A Small Peer with Sync on the simulated network, restartable from its files.
import { Transport } from "@shoal/core"
import { MemoryNetwork } from "@shoal/transport-memory"
import { Effect, Exit, Layer, Scope } from "effect"
import { SmallPeer, type SmallPeerShape, Sync } from "../../src/index.js"

export interface SimPeer {
  readonly name: string
  readonly peer: SmallPeerShape
  readonly sync: Sync.SyncShape
  /** Stop the peer (its files stay). */
  readonly stop: Effect.Effect<void>
}

export const startPeer = (
  network: MemoryNetwork.MemoryNetworkShape,
  name: string,
  dir: string,
  options: Partial<Sync.SyncOptions> = {}
): Effect.Effect<SimPeer, unknown> =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const transport = Layer.scoped(Transport.Transport, network.transport(name))
    const layer = Sync.Sync.layer({ appId: "sim", deviceName: name, retryIntervalMs: 50, ...options }).pipe(
      Layer.provideMerge(SmallPeer.layer({ appId: "sim", persistenceDir: dir })),
      Layer.provide(transport)
    )
    const ctx = yield* Layer.buildWithScope(layer, scope).pipe(Effect.tapError(() => Scope.close(scope, Exit.void)))
    return {
      name,
      peer: yield* Effect.provide(SmallPeer, ctx),
      sync: yield* Effect.provide(Sync.Sync, ctx),
      stop: Scope.close(scope, Exit.void)
    }
  })
