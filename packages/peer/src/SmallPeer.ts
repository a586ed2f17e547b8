/**
 * SmallPeer: an embedded replica (one SQLite file per app) with the local
 * API — execute, transaction, observe. Sync (links, subscriptions, presence)
 * is layered on by the Sync module; the same Layers make up a Big Peer.
 */
import type { Json } from "@shoal/core"
import { ReplicaStore, StoreError } from "@shoal/store-sqlite"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Stream from "effect/Stream"
import { mkdirSync } from "node:fs"
import { join } from "node:path"
import { observe as observeQuery, type ObserveError } from "./Observe.js"
import { Replica, type ReplicaShape } from "./Replica.js"

export interface SmallPeerOptions {
  readonly appId: string
  /** Directory holding the replica file; "memory" for a throw-away replica (tests). */
  readonly persistenceDir: string | "memory"
  readonly deviceName?: string
}

/** Path of an app's replica file inside a persistence directory. */
export const replicaPath = (persistenceDir: string, appId: string) =>
  join(persistenceDir, `shoal-${appId.replace(/[^A-Za-z0-9_.-]/g, "_")}.sqlite`)

const replicaFile = (options: SmallPeerOptions) =>
  options.persistenceDir === "memory"
    ? Effect.succeed("memory")
    : Effect.try({
      try: () => {
        mkdirSync(options.persistenceDir, { recursive: true })
        return replicaPath(options.persistenceDir, options.appId)
      },
      catch: (e) => new StoreError({ operation: `create ${options.persistenceDir}`, detail: String(e) })
    })

const makePeer = (options: SmallPeerOptions) =>
  Effect.gen(function*() {
    const replica = yield* Replica
    return {
      appId: options.appId,
      deviceName: options.deviceName ?? `shoal-${replica.siteId.slice(0, 6)}`,
      siteId: replica.siteId,
      replica,
      /** Run one DQL statement. Writes are durable when this succeeds. */
      execute: replica.execute,
      /** Run several statements atomically (one op). */
      transaction: replica.transaction,
      /** Current result of a SELECT, then one per commit that changes it. */
      observe: (query: string, args?: Json.JsonObject): Stream.Stream<ReadonlyArray<Json.JsonObject>, ObserveError> =>
        observeQuery(replica, query, args)
    }
  })

export type SmallPeerShape = Effect.Effect.Success<ReturnType<typeof makePeer>>

export class SmallPeer extends Context.Tag("@shoal/peer/SmallPeer")<SmallPeer, SmallPeerShape>() {
  /** A Small Peer with its store and replica actor (no transports). */
  static readonly layer = (options: SmallPeerOptions): Layer.Layer<SmallPeer | Replica | ReplicaStore, StoreError> =>
    Layer.effect(SmallPeer, makePeer(options)).pipe(
      Layer.provideMerge(Replica.layer),
      Layer.provideMerge(Layer.unwrapEffect(Effect.map(replicaFile(options), (filename) => ReplicaStore.layer({ filename }))))
    )
}

export type { ReplicaShape }
