/**
 * Propagation of one write across a mesh of 100 Small Peers on the simulated
 * network (10 ms one-way links), and the bytes on the wire per changed field.
 * Each peer has its own replica file; the topology is a random connected
 * graph (a random tree plus extra links). The target is per peer:
 * arrival ≤ (hops from the writer × 10 ms) + 50 ms.
 */
import { Transport } from "@shoal/core"
import { SmallPeer, type SmallPeerShape, Sync } from "@shoal/peer"
import { MemoryNetwork } from "@shoal/transport-memory"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import { join } from "node:path"
import type { Bench, BenchContext, Row } from "./Bench.js"

const PEERS = 100
const LATENCY_MS = 10

/** Deterministic pseudo-random numbers (same topology every run). */
const lcg = (seed: number) => {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

const topology = (n: number) => {
  const rnd = lcg(42)
  const edges: Array<readonly [number, number]> = []
  for (let i = 1; i < n; i++) edges.push([i, Math.floor(rnd() * i)])
  for (let k = 0; k < n / 2; k++) {
    const a = Math.floor(rnd() * n)
    const b = Math.floor(rnd() * n)
    if (a !== b) edges.push([a, b])
  }
  return edges
}

const hopsFrom = (n: number, edges: ReadonlyArray<readonly [number, number]>, start: number) => {
  const adj = Array.from({ length: n }, () => [] as Array<number>)
  for (const [a, b] of edges) {
    adj[a]!.push(b)
    adj[b]!.push(a)
  }
  const dist = new Array<number>(n).fill(-1)
  dist[start] = 0
  const queue = [start]
  for (let q = queue.shift(); q !== undefined; q = queue.shift()) {
    for (const m of adj[q]!) {
      if (dist[m] === -1) {
        dist[m] = dist[q]! + 1
        queue.push(m)
      }
    }
  }
  return dist
}

export const mesh: Bench = {
  name: "mesh",
  title: "One write across a 100-peer simulated mesh with 10 ms links",
  description:
    `${PEERS} Small Peers (each with its own SQLite file) on the simulated network, ${LATENCY_MS} ms one-way ` +
    "latency on every link, a random connected topology. All subscribe to the collection; one peer writes one " +
    "document; each peer's arrival time (commit of the merged delta) is compared with its hop distance. Then one " +
    "field of that document changes and the bytes all peers put on the wire for it are counted.",
  run: (ctx: BenchContext) =>
    Effect.gen(function*() {
      const network = yield* MemoryNetwork.make({ defaults: { latency: `${LATENCY_MS} millis` }, window: 1024 })
      const edges = topology(PEERS)
      const peers: Array<{ readonly peer: SmallPeerShape; readonly sync: Sync.SyncShape }> = []
      yield* ctx.log(`starting ${PEERS} peers`)
      for (let i = 0; i < PEERS; i++) {
        const connect = edges.filter(([a]) => a === i).map(([, b]) => `m${b}`)
        const env = yield* Layer.build(
          Sync.Sync.layer({ appId: "mesh", deviceName: `m${i}`, connect, retryIntervalMs: 20 }).pipe(
            Layer.provideMerge(SmallPeer.layer({ appId: "mesh", persistenceDir: join(ctx.workDir, `m${i}`) })),
            Layer.provide(Layer.scoped(Transport.Transport, network.transport(`m${i}`)))
          )
        )
        peers.push({ peer: Context.get(env, SmallPeer), sync: Context.get(env, Sync.Sync) })
      }
      /** Wait until `query` finds one document on every peer. */
      const everyPeerHas = (query: string) =>
        Effect.forEach(peers, (p) =>
          p.peer.execute(query).pipe(
            Effect.filterOrFail((r) => r.items.length === 1, () => "not yet"),
            Effect.retry(Schedule.spaced("10 millis").pipe(Schedule.upTo("60 seconds")))
          ), { discard: true })
      yield* Effect.forEach(peers, (p) => p.sync.registerSubscription("SELECT * FROM notes"), { discard: true })
      // Warm up: every link up and every subscription through.
      yield* peers[0]!.peer.execute("INSERT INTO notes DOCUMENTS (:d)", { d: { _id: "warmup" } })
      yield* everyPeerHas("SELECT * FROM notes WHERE _id = 'warmup'")
      yield* Effect.sleep("500 millis")

      const writer = 0
      const hops = hopsFrom(PEERS, edges, writer)
      const arrivals = new Array<number>(PEERS).fill(Number.NaN)
      let t0 = 0
      // Arrival = the commit that merged the document on that peer (seen
      // inside its writer, right after the commit).
      const probeId = JSON.stringify("probe")
      const watchers = yield* Effect.forEach(peers, (p, i) =>
        Effect.gen(function*() {
          const arrived = yield* Deferred.make<void>()
          yield* p.peer.replica.watch(Effect.void, (events) =>
            Number.isNaN(arrivals[i]!) && events.some((e) => e.changes.some((c) => c.id === probeId))
              ? Effect.asVoid(Effect.zipRight(
                Effect.sync(() => void (arrivals[i] = performance.now() - t0)),
                Deferred.succeed(arrived, undefined)
              ))
              : Effect.void)
          return arrived
        }))
      yield* Effect.sleep("50 millis")
      yield* ctx.log("one write at peer 0")
      t0 = performance.now()
      yield* peers[writer]!.peer.execute("INSERT INTO notes DOCUMENTS (:d)", { d: { _id: "probe", title: "hello", body: "x".repeat(40) } })
      arrivals[writer] = 0
      yield* Effect.forEach(watchers.slice(1), Deferred.await, { discard: true }).pipe(Effect.timeout("60 seconds"), Effect.ignore)

      const late = arrivals.map((ms, i) => ms - (hops[i]! * LATENCY_MS + 50))
      const worst = Math.max(...late)
      const slowest = Math.max(...arrivals)
      const maxHops = Math.max(...hops)

      // Bytes on the wire for one changed field, all peers together.
      yield* Effect.sleep("500 millis")
      const before = yield* Effect.forEach(peers, (p) => p.sync.traffic)
      yield* peers[writer]!.peer.execute("UPDATE notes SET title = 'changed' WHERE _id = 'probe'")
      yield* everyPeerHas("SELECT * FROM notes WHERE _id = 'probe' AND title = 'changed'")
      yield* Effect.sleep("300 millis")
      const after = yield* Effect.forEach(peers, (p) => p.sync.traffic)
      const sent = after.reduce((n, t, i) => n + t.bytesSent - before[i]!.bytesSent, 0)

      const rows: Array<Row> = [
        {
          metric: `one write reaches all ${PEERS} peers (max ${maxHops} hops)`,
          shoal: slowest,
          unit: "ms",
          better: "lower",
          target: { kind: "atMost", value: maxHops * LATENCY_MS + 50 },
          note: `hops × ${LATENCY_MS} ms + 50 ms for the farthest peer`
        },
        {
          metric: "worst peer: arrival − (its hops × 10 ms + 50 ms)",
          shoal: worst,
          unit: "ms",
          better: "lower",
          target: { kind: "atMost", value: 0 }
        },
        {
          metric: `bytes on the wire for one changed field (all ${PEERS} peers, per link crossing)`,
          shoal: sent / (PEERS - 1),
          unit: "B",
          better: "lower",
          note: `${sent} B in total across the mesh`
        }
      ]
      return rows
    })
}
