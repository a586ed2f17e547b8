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
/** Probe writes; the median counts (one write's time varies a lot on a shared machine). */
const PROBES = 5

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
    "document; each peer's arrival time (commit of the merged delta) is compared with its hop distance. That is " +
    `done ${PROBES} times (a new document each time, 300 ms apart) and the median write counts. Then one ` +
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
      const maxHops = Math.max(...hops)
      // Arrival = the commit that merged the probe document on that peer (seen
      // inside its writer, right after the commit). Each probe is a new
      // document; the watchers look for the current one.
      let arrivals = new Array<number>(PEERS).fill(Number.NaN)
      let t0 = 0
      let probeId = ""
      let arrived: Array<Deferred.Deferred<void>> = []
      yield* Effect.forEach(peers, (p, i) =>
        p.peer.replica.watch(Effect.void, (events) =>
          Number.isNaN(arrivals[i]!) && events.some((e) => e.changes.some((c) => c.id === probeId))
            ? Effect.asVoid(Effect.zipRight(
              Effect.sync(() => void (arrivals[i] = performance.now() - t0)),
              Deferred.succeed(arrived[i]!, undefined)
            ))
            : Effect.void), { discard: true })

      /** One probe write at peer 0: every peer's arrival time, ms. */
      const probe = (n: number) =>
        Effect.gen(function*() {
          arrivals = new Array<number>(PEERS).fill(Number.NaN)
          arrived = yield* Effect.forEach(peers, () => Deferred.make<void>())
          probeId = JSON.stringify(`probe${n}`)
          yield* Effect.sleep("300 millis") // the previous probe's acks and cursor writes are done
          t0 = performance.now()
          yield* peers[writer]!.peer.execute("INSERT INTO notes DOCUMENTS (:d)", { d: { _id: `probe${n}`, title: "hello", body: "x".repeat(40) } })
          arrivals[writer] = 0
          yield* Effect.forEach(arrived.slice(1), Deferred.await, { discard: true }).pipe(Effect.timeout("60 seconds"), Effect.ignore)
          return arrivals
        })

      const runs: Array<{ readonly slowest: number; readonly worst: number }> = []
      for (let n = 0; n < PROBES; n++) {
        yield* ctx.log(`probe write ${n + 1} of ${PROBES} at peer 0`)
        const at = yield* probe(n)
        runs.push({
          slowest: Math.max(...at),
          worst: Math.max(...at.map((ms, i) => ms - (hops[i]! * LATENCY_MS + 50)))
        })
      }
      const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
      const slowest = median(runs.map((r) => r.slowest))
      const worst = median(runs.map((r) => r.worst))
      const each = runs.map((r) => r.slowest.toFixed(0)).join(", ")
      const probeId0 = "probe0"

      // Bytes on the wire for one changed field, all peers together.
      yield* Effect.sleep("500 millis")
      const before = yield* Effect.forEach(peers, (p) => p.sync.traffic)
      yield* peers[writer]!.peer.execute("UPDATE notes SET title = 'changed' WHERE _id = :id", { id: probeId0 })
      yield* everyPeerHas(`SELECT * FROM notes WHERE _id = '${probeId0}' AND title = 'changed'`)
      yield* Effect.sleep("300 millis")
      const after = yield* Effect.forEach(peers, (p) => p.sync.traffic)
      const sent = after.reduce((n, t, i) => n + t.bytesSent - before[i]!.bytesSent, 0)

      const rows: Array<Row> = [
        {
          metric: `one write reaches all ${PEERS} peers (max ${maxHops} hops), median of ${PROBES} writes`,
          shoal: slowest,
          unit: "ms",
          better: "lower",
          target: { kind: "atMost", value: maxHops * LATENCY_MS + 50 },
          note: `hops × ${LATENCY_MS} ms + 50 ms for the farthest peer; each write: ${each} ms`
        },
        {
          metric: `worst peer: arrival − (its hops × 10 ms + 50 ms), median of ${PROBES} writes`,
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
