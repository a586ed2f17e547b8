/**
 * The running apps of a Big Peer. Each app gets, on first use, its own
 * replica file (`<dataDir>/apps/<appId>/shoal-<appId>.sqlite`), a Replica
 * actor and a Sync that subscribes to every collection and serves the links
 * accepted on `/sync/{appId}`. It stays open for the server's life and is
 * closed (in the reverse order of opening) when the server shuts down.
 *
 * Building is lazy and happens once per app even under concurrent first
 * requests; a failed build is not cached (the next request tries again).
 */
import { Transport } from "@shoal/core"
import { SmallPeer, type SmallPeerShape, Sync } from "@shoal/peer"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { Errors } from "@shoal/client"
import { join } from "node:path"
import { AccessControl } from "./Access.js"
import { type AppRecord, Apps } from "./Apps.js"
import { BigPeerSettings } from "./Config.js"

/** One running app. */
export interface Tenant {
  readonly app: AppRecord
  readonly peer: SmallPeerShape
  readonly sync: Sync.SyncShape
}

/** Directory of an app's replica inside the data directory. */
export const appDir = (dataDir: string, appId: string) => join(dataDir, "apps", appId)

/**
 * The Big Peer's transport: it never dials and never listens by itself;
 * links arrive through the HTTP server's `/sync/{appId}` upgrade and are
 * handed to `Sync.serve`.
 */
export const acceptOnlyTransport: Layer.Layer<Transport.Transport> = Layer.succeed(Transport.Transport, {
  kind: "websocket",
  dial: (address) =>
    Effect.fail(new Transport.TransportError({ address, reason: "the Big Peer does not dial: peers connect to /sync/{appId}" })),
  listen: Stream.empty,
  discover: Stream.empty
})

const make = Effect.gen(function*() {
  const apps = yield* Apps
  const access = yield* AccessControl
  const settings = yield* BigPeerSettings
  const scope = yield* Effect.scope
  const running = new Map<string, Deferred.Deferred<Tenant, Errors.AppNotFound>>()
  const lock = yield* Effect.makeSemaphore(1)

  const build = (appId: string) =>
    Effect.gen(function*() {
      const app = yield* apps.get(appId)
      const linkAuth = yield* access.linkAuth(app)
      const appScope = yield* Scope.fork(scope, ExecutionStrategy.sequential)
      const layer = Sync.Sync.layer({
        appId,
        deviceName: "shoal-big-peer",
        listen: false,
        // It already subscribes to everything: relaying remotes' queries would add nothing.
        relay: false,
        auth: linkAuth
      }).pipe(
        Layer.provideMerge(SmallPeer.layer({ appId, persistenceDir: appDir(settings.dataDir, appId) })),
        Layer.provide(acceptOnlyTransport)
      )
      const context = yield* Layer.buildWithScope(layer, appScope).pipe(
        Effect.tapError(() => Scope.close(appScope, Exit.void)),
        Effect.orDie
      )
      const sync = Context.get(context, Sync.Sync)
      yield* sync.subscribeAll
      yield* Effect.logInfo(`app ${appId}: replica open (${app.identityMode})`)
      return { app, peer: Context.get(context, SmallPeer), sync } satisfies Tenant
    })

  const get = (appId: string): Effect.Effect<Tenant, Errors.AppNotFound> => {
    const ready = running.get(appId)
    return ready !== undefined ? Deferred.await(ready) : open(appId)
  }

  const open = (appId: string): Effect.Effect<Tenant, Errors.AppNotFound> =>
    Effect.gen(function*() {
      const [deferred, owner] = yield* lock.withPermits(1)(Effect.gen(function*() {
        const existing = running.get(appId)
        if (existing !== undefined) return [existing, false] as const
        const created = yield* Deferred.make<Tenant, Errors.AppNotFound>()
        running.set(appId, created)
        return [created, true] as const
      }))
      if (owner) {
        // Built in the server's scope: a request that gives up does not abort it.
        yield* build(appId).pipe(
          Effect.exit,
          Effect.flatMap((exit) =>
            Effect.zipRight(
              Exit.isSuccess(exit) ? Effect.void : Effect.sync(() => running.delete(appId)),
              Deferred.done(deferred, exit)
            )
          ),
          Effect.forkIn(scope)
        )
      }
      return yield* Deferred.await(deferred)
    })

  return {
    get,
    /** The apps whose replica is open now. */
    open: Effect.sync(() => [...running.keys()])
  }
})

/** See the module documentation. */
export type TenantsShape = Effect.Effect.Success<typeof make>

/** Running apps, opened on first use. */
export class Tenants extends Context.Tag("@shoal/big-peer/Tenants")<Tenants, TenantsShape>() {
  static readonly layer: Layer.Layer<Tenants, never, Apps | AccessControl | BigPeerSettings> = Layer.scoped(Tenants, make)
}
