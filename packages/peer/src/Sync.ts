/**
 * Sync: subscriptions, the mesh of links, relaying and presence.
 *
 * - Subscriptions: `registerSubscription(query, args)` tells every link what
 *   this peer wants; `cancel` withdraws it.
 * - Mesh: inbound connections (from the transport's `listen`, or handed in
 *   with `accept`) run one Link each; outbound addresses (`connect`) are
 *   dialed and re-dialed with exponential backoff and jitter, so a link that
 *   crashes restarts alone. Two links to the same remote are de-duplicated:
 *   the one dialed by the peer with the lower site id stays.
 * - Relay (on by default): the queries a remote subscribed to are forwarded
 *   to the other links, so A<->B<->C syncs C's data through B even when B
 *   never asked for it. Queries are identified by content, so relayed copies
 *   do not multiply around cycles.
 * - Presence: the graph of this peer's links, observable.
 */
import { Dql, type Json, Protocol, Transport } from "@shoal/core"
import { ReplicaStore } from "@shoal/store-sqlite"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberMap from "effect/FiberMap"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import * as PubSub from "effect/PubSub"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import { InvalidStatement } from "./Errors.js"
import { docKey, inCollection } from "./internal/DocSource.js"
import { parseCached } from "./internal/StatementCache.js"
import * as Link from "./Link.js"
import { Replica } from "./Replica.js"

export interface SyncOptions {
  readonly appId: string
  readonly deviceName?: string
  /** Forward remotes' subscriptions to other links (default true). */
  readonly relay?: boolean
  /** Addresses to keep a link to (ws:// URLs, memory node names …). */
  readonly connect?: ReadonlyArray<string>
  /** First reconnect delay; doubles up to 30 s, with jitter (default 500 ms). */
  readonly retryIntervalMs?: number
  /** Accept connections from the transport's `listen` (default true). */
  readonly listen?: boolean
  /** Credentials presented and checked on every link (default: `Link.openAuth`, everyone admitted). */
  readonly auth?: Link.LinkAuth
  /** Flow control, batch sizes, timeouts and Ack delay of every link (see `Link.LinkOptions`). */
  readonly link?: Link.LinkOptions
  /** Random 32-bit id announced to others; drawn at start when absent. */
  readonly networkId?: number
}

export interface PeerInfo {
  readonly siteId: string
  readonly networkId: number
  readonly deviceName: string
}

export interface PresenceGraph {
  readonly localPeer: PeerInfo
  readonly remotePeers: ReadonlyArray<PeerInfo>
  readonly connections: ReadonlyArray<{ readonly from: string; readonly to: string; readonly transport: string }>
}

export interface SubscriptionHandle {
  readonly id: string
  readonly query: Protocol.Query
  readonly cancel: Effect.Effect<void>
}

export interface RejectedWrite {
  readonly remote: string
  readonly reason: string
  readonly docs: ReadonlyArray<Protocol.DocRef>
}

/** 32-bit FNV-1a of the app id: peers of other apps refuse each other at Hello. */
export const appIdHash = (appId: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < appId.length; i++) {
    h ^= appId.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h >>> 0
}

interface LinkEntry {
  readonly linkId: string
  readonly remote: Link.RemoteInfo
  readonly dialed: boolean
  readonly close: Effect.Effect<void>
}

interface QueryState {
  readonly local: ReadonlyMap<string, Protocol.Query>
  readonly remote: ReadonlyMap<string, ReadonlyArray<Protocol.Query>>
}

export const make = (options: SyncOptions) =>
  Effect.gen(function*() {
    const replica = yield* Replica
    const store = yield* ReplicaStore
    const transport = yield* Transport.Transport
    const relay = options.relay ?? true
    const networkId = options.networkId ?? (yield* Random.nextIntBetween(1, 0x7fffffff))
    const local: Link.LocalIdentity = {
      siteId: replica.siteId,
      networkId,
      deviceName: options.deviceName ?? `shoal-${replica.siteId.slice(0, 6)}`,
      appIdHash: appIdHash(options.appId),
      relay
    }
    const auth = options.auth ?? Link.openAuth
    const queries = yield* SubscriptionRef.make<QueryState>({ local: new Map(), remote: new Map() })
    const links = yield* SubscriptionRef.make<ReadonlyMap<string, LinkEntry>>(new Map())
    const rejections = yield* PubSub.unbounded<RejectedWrite>()
    const progress = yield* PubSub.unbounded<{ readonly remote: string; readonly progress: Protocol.Progress }>()
    const evicted = new Set<string>()
    const traffic: Link.Traffic = { framesSent: 0, bytesSent: 0, framesReceived: 0, bytesReceived: 0 }

    // Evicted docs are refused from remotes until a subscription asks again.
    // Noted inside the writer after each commit (no fiber, no stream per commit).
    yield* replica.watch(Effect.void, (events) => {
      for (const e of events) {
        if (e.origin !== "local") continue
        for (const c of e.changes) if (c.evicted === true) evicted.add(docKey(c.collection, c.id))
      }
    })

    /** What to ask of the remote of `linkId`: the local queries and, relaying, the other links' remotes'. */
    const queriesOf = (state: QueryState, linkId: string): ReadonlyArray<Protocol.Query> => {
      const out = new Map<string, Protocol.Query>()
      for (const q of state.local.values()) out.set(q.id, q)
      if (relay) {
        for (const [other, qs] of state.remote) {
          if (other === linkId) continue
          for (const q of qs) out.set(q.id, q)
        }
      }
      return [...out.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    }
    const queriesFor = (linkId: string) =>
      queries.changes.pipe(
        Stream.map((state) => queriesOf(state, linkId)),
        Stream.changesWith(Link.sameQueries)
      )

    const hooks: Link.LinkHooks = {
      queriesFor,
      currentQueries: (linkId) => Effect.map(SubscriptionRef.get(queries), (state) => queriesOf(state, linkId)),
      remoteQueries: (linkId, qs) =>
        SubscriptionRef.update(queries, (s) => ({
          local: s.local,
          remote: new Map([...s.remote, [linkId, qs.map((q) => ({ ...q, id: Link.queryKey(q) }))]])
        })),
      register: (linkId, remote, dialed, close) =>
        SubscriptionRef.modifyEffect(links, (current) => {
          const existing = [...current.values()].find((l) => l.remote.siteId === remote.siteId)
          const entry: LinkEntry = { linkId, remote, dialed, close }
          if (existing === undefined) return Effect.succeed([true, new Map([...current, [linkId, entry]])] as const)
          // Keep the connection dialed by the lower site id: both ends agree.
          const lowerDialed = (l: LinkEntry) => (l.dialed ? local.siteId < remote.siteId : remote.siteId < local.siteId)
          if (lowerDialed(entry) && !lowerDialed(existing)) {
            const next = new Map(current)
            next.delete(existing.linkId)
            next.set(linkId, entry)
            return Effect.as(Effect.forkDaemon(existing.close), [true, next] as const)
          }
          return Effect.succeed([false, current] as const)
        }),
      unregister: (linkId) =>
        Effect.zipRight(
          SubscriptionRef.update(links, (current) => {
            const next = new Map(current)
            next.delete(linkId)
            return next
          }),
          SubscriptionRef.update(queries, (s) => {
            const remote = new Map(s.remote)
            remote.delete(linkId)
            return { local: s.local, remote }
          })
        ),
      isEvicted: (collection, id) => evicted.size > 0 && evicted.has(docKey(collection, id)),
      anyEvicted: () => evicted.size > 0,
      rejected: (remote, m) =>
        Effect.zipRight(
          Effect.logWarning(`remote ${remote} refused ${m.docs.length} write(s): ${m.reason}`),
          PubSub.publish(rejections, { remote, reason: m.reason, docs: m.docs })
        ),
      progress: (remote, p) => PubSub.publish(progress, { remote, progress: p })
    }

    const runLink = (connection: Transport.Connection, dialed: boolean) =>
      Link.run({
        connection,
        dialed,
        replica,
        store,
        local,
        auth,
        hooks,
        traffic,
        ...(options.link === undefined ? {} : { options: options.link })
      }).pipe(Effect.scoped)

    // Inbound: one link per connection; the remote reconnects if it breaks.
    const inbound = yield* FiberSet.make<void, never>()
    const accept = (connection: Transport.Connection) =>
      FiberSet.run(
        inbound,
        runLink(connection, false).pipe(
          Effect.catchAll((e) => Effect.logInfo(`inbound link ended: ${e.message}`)),
          Effect.catchAllDefect((d) => Effect.logError("inbound link crashed", d)),
          Effect.ensuring(connection.close())
        )
      ).pipe(Effect.asVoid)

    if (options.listen ?? true) {
      yield* transport.listen.pipe(
        Stream.runForEach(accept),
        Effect.catchAll((e) => Effect.logWarning(`listen failed: ${e.message}`)),
        Effect.forkScoped
      )
    }

    // Outbound: keep a link to each address, re-dialing with backoff.
    const base = Duration.millis(options.retryIntervalMs ?? 500)
    const retry = Schedule.exponential(base, 2).pipe(
      Schedule.modifyDelay((_, d) => Duration.min(d, Duration.seconds(30))),
      Schedule.jittered,
      Schedule.resetAfter("1 minute")
    )
    const outbound = yield* FiberMap.make<string, never, never>()
    const connect = (address: string) =>
      FiberMap.run(
        outbound,
        address,
        Effect.gen(function*() {
          const connection = yield* transport.dial(address)
          yield* runLink(connection, true)
        }).pipe(
          Effect.scoped,
          // A clean end (remote shut down, duplicate) is retried too: the remote may come back.
          Effect.catchAllDefect((d) => Effect.fail(new Link.LinkError({ remote: address, reason: `crashed: ${String(d)}` }))),
          Effect.tapError((e) => Effect.logDebug(`link to ${address}: ${e.message}`)),
          Effect.zipRight(Effect.fail(new Link.LinkError({ remote: address, reason: "ended" }))),
          Effect.retry(retry),
          Effect.orDie
        ),
        { onlyIfMissing: true }
      ).pipe(Effect.asVoid)
    const disconnect = (address: string) => FiberMap.remove(outbound, address)
    for (const address of options.connect ?? []) yield* connect(address)

    /** Add a query to this peer's own subscriptions; the handle withdraws it. */
    const subscribe = (q: { readonly collection: string; readonly where?: string; readonly args: Json.JsonObject }) =>
      Effect.gen(function*() {
        const id = Link.queryKey(q)
        const full: Protocol.Query = { id, ...q }
        // Subscribing again brings back documents this peer evicted.
        for (const key of evicted) {
          if (q.collection === Link.ALL_COLLECTIONS || inCollection(key, q.collection)) evicted.delete(key)
        }
        yield* SubscriptionRef.update(queries, (s) => ({ local: new Map([...s.local, [id, full]]), remote: s.remote }))
        return {
          id,
          query: full,
          cancel: SubscriptionRef.update(queries, (s) => {
            const next = new Map(s.local)
            next.delete(id)
            return { local: next, remote: s.remote }
          })
        } satisfies SubscriptionHandle
      })

    const registerSubscription = (query: string, args: Json.JsonObject = {}) =>
      Effect.gen(function*() {
        const parsed = yield* parseCached(query)
        if (parsed._tag !== "Select") {
          return yield* new InvalidStatement({ message: "a subscription is a SELECT statement" })
        }
        const where = parsed.where === undefined ? undefined : Dql.Printer.printExpr(parsed.where)
        return yield* subscribe({ collection: parsed.collection, ...(where === undefined ? {} : { where }), args })
      })

    /** Subscribe to every document of every collection (what a Big Peer does). */
    const subscribeAll = subscribe({ collection: Link.ALL_COLLECTIONS, args: {} })

    const graph = (current: ReadonlyMap<string, LinkEntry>): PresenceGraph => ({
      localPeer: { siteId: local.siteId, networkId: local.networkId, deviceName: local.deviceName },
      remotePeers: [...current.values()].map((l) => ({
        siteId: l.remote.siteId,
        networkId: l.remote.networkId,
        deviceName: l.remote.deviceName
      })),
      connections: [...current.values()].map((l) => ({ from: local.siteId, to: l.remote.siteId, transport: transport.kind }))
    })

    return {
      local,
      registerSubscription,
      subscribeAll,
      connect,
      disconnect,
      /** Run a link over a connection accepted elsewhere (e.g. the Big Peer's HTTP upgrade). */
      accept,
      /** Run a link over a connection accepted elsewhere and wait for it to end. */
      serve: (connection: Transport.Connection) => runLink(connection, false),
      presence: {
        current: Effect.map(SubscriptionRef.get(links), graph),
        observe: (): Stream.Stream<PresenceGraph> => links.changes.pipe(Stream.map(graph))
      },
      /** Writes remotes refused (permission), as they are reported. */
      rejections: Stream.fromPubSub(rejections),
      /** Initial-sync progress reported by remotes sending to this peer. */
      progress: Stream.fromPubSub(progress),
      linkCount: Effect.map(SubscriptionRef.get(links), (m) => m.size),
      /** Frames and bytes this peer sent and received, all links together. */
      traffic: Effect.sync((): Link.Traffic => ({ ...traffic }))
    }
  })

export type SyncShape = Effect.Effect.Success<ReturnType<typeof make>>

export class Sync extends Context.Tag("@shoal/peer/Sync")<Sync, SyncShape>() {
  static readonly layer = (options: SyncOptions) => Layer.scoped(Sync, make(options))
}
