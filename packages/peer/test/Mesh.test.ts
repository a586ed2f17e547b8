import { describe, expect, it } from "@effect/vitest"
import { MemoryNetwork } from "@shoal/transport-memory"
import { type Duration, Effect, FastCheck as fc, Schedule } from "effect"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type SimPeer, startPeer } from "./util/simPeer.js"

const dirs = (n: number) => {
  const root = mkdtempSync(join(tmpdir(), "shoal-sim-"))
  return Array.from({ length: n }, (_, i) => join(root, `p${i}`))
}

const snapshot = (p: SimPeer) =>
  Effect.map(p.peer.execute("SELECT * FROM items ORDER BY _id"), (r) => JSON.stringify(r.items))

/** Wait until every peer shows the same items, or give up after `within`. */
const converge = (peers: ReadonlyArray<SimPeer>, within: Duration.DurationInput) =>
  Effect.forEach(peers, snapshot).pipe(
    Effect.filterOrFail((all) => all.every((s) => s === all[0]), (all) => new Set(all).size),
    Effect.retry(Schedule.spaced("100 millis").pipe(Schedule.upTo(within))),
    Effect.map((all) => JSON.parse(all[0]!) as ReadonlyArray<Record<string, unknown>>)
  )

interface Scenario {
  readonly size: number
  readonly edges: ReadonlyArray<readonly [number, number]>
  readonly steps: ReadonlyArray<
    | { readonly kind: "write"; readonly peer: number; readonly shared: number }
    | { readonly kind: "partition"; readonly cut: number }
    | { readonly kind: "heal" }
    | { readonly kind: "crash"; readonly peer: number }
  >
}

const scenario: fc.Arbitrary<Scenario> = fc.integer({ min: 20, max: 30 }).chain((size) =>
  fc.record({
    size: fc.constant(size),
    // A random spanning tree (connected) plus a few random extra links.
    edges: fc.tuple(
      fc.array(fc.nat(), { minLength: size - 1, maxLength: size - 1 }),
      fc.array(fc.tuple(fc.nat(size - 1), fc.nat(size - 1)), { maxLength: size / 2 })
    ).map(([parents, extra]) => [
      ...parents.map((p, i) => [i + 1, p % (i + 1)] as const),
      ...extra.filter(([a, b]) => a !== b)
    ]),
    steps: fc.array(
      fc.oneof(
        { weight: 12, arbitrary: fc.record({ kind: fc.constant("write" as const), peer: fc.nat(size - 1), shared: fc.nat(2) }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant("partition" as const), cut: fc.integer({ min: 1, max: size - 1 }) }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant("heal" as const) }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant("crash" as const), peer: fc.nat(size - 1) }) }
      ),
      { minLength: 30, maxLength: 60 }
    )
  })
)

const runScenario = (s: Scenario) =>
  Effect.gen(function*() {
    const network = yield* MemoryNetwork.MemoryNetwork
    const paths = dirs(s.size)
    const names = paths.map((_, i) => `n${i}`)
    const connectOf = (i: number) => s.edges.filter(([a]) => a === i).map(([, b]) => names[b]!)
    const start = (i: number) => startPeer(network, names[i]!, paths[i]!, { connect: connectOf(i) })
    const peers: Array<SimPeer> = []
    for (let i = 0; i < s.size; i++) peers.push(yield* start(i))
    yield* Effect.forEach(peers, (p) => p.sync.registerSubscription("SELECT * FROM items"))
    const acked = new Set<string>()
    let increments = 0
    let n = 0
    for (const step of s.steps) {
      if (process.env.SIM_DEBUG) console.error("step", JSON.stringify(step))
      switch (step.kind) {
        case "write": {
          const p = peers[step.peer]!
          if (process.env.SIM_DEBUG) {
            yield* Effect.fork(Effect.sleep("10 seconds").pipe(Effect.zipRight(Effect.flatMap(p.peer.replica.status, (st) =>
              Effect.sync(() => console.error("STUCK?", p.name, JSON.stringify(st)))))))
          }
          const id = `w-${step.peer}-${n++}`
          yield* p.peer.execute("INSERT INTO items DOCUMENTS (:d)", { d: { _id: id, by: p.name } })
          acked.add(id)
          yield* p.peer.execute("INSERT INTO items DOCUMENTS (:d) ON ID CONFLICT DO NOTHING", { d: { _id: "counter" } })
          yield* p.peer.execute("UPDATE items APPLY n PN_INCREMENT BY 1 WHERE _id = 'counter'")
          increments++
          yield* p.peer.execute(`INSERT INTO items DOCUMENTS (:d) ON ID CONFLICT DO UPDATE`, {
            d: { _id: `shared-${step.shared}`, last: id }
          })
          break
        }
        case "partition":
          yield* network.partition(names.slice(0, step.cut), names.slice(step.cut))
          break
        case "heal":
          yield* network.heal
          break
        case "crash": {
          yield* network.crash(names[step.peer]!)
          yield* peers[step.peer]!.stop
          yield* network.restart(names[step.peer]!)
          peers[step.peer] = yield* start(step.peer)
          yield* peers[step.peer]!.sync.registerSubscription("SELECT * FROM items")
          break
        }
      }
      yield* Effect.sleep("5 millis")
    }
    yield* network.heal
    const items = yield* converge(peers, "60 seconds").pipe(
      Effect.tapError(() =>
        Effect.gen(function*() {
          const all = yield* Effect.forEach(peers, (p) => Effect.map(snapshot(p), (t) => JSON.parse(t) as Array<Record<string, unknown>>))
          const union = new Map<string, string>()
          for (const items of all) for (const d of items) union.set(String(d._id), JSON.stringify(d))
          for (const [i, items] of all.entries()) {
            const mine = new Map(items.map((d) => [String(d._id), JSON.stringify(d)]))
            const missing = [...union.keys()].filter((k) => !mine.has(k))
            const differ = [...mine].filter(([k, v]) => union.get(k) !== v).map(([k]) => k)
            const links = yield* peers[i]!.sync.linkCount
            console.error("peer", peers[i]!.name, "items", items.length, "links", links, "missing", missing.slice(0, 5), "differ", differ.slice(0, 5))
            for (const k of differ.slice(0, 1)) {
              const rec = yield* peers[i]!.peer.replica.store.getDoc("items", JSON.stringify(k))
              console.error("   ", rec?.visibleJson, rec?.vvJson, rec?.stateJson)
            }
            if (differ.length === 0) {
              const rec = yield* peers[i]!.peer.replica.store.getDoc("items", JSON.stringify("shared-0"))
              console.error("   ok:", rec?.visibleJson, rec?.vvJson, rec?.stateJson)
            }
          }
        })
      )
    )
    const ids = new Set(items.map((d) => String(d._id)))
    for (const id of acked) expect(ids.has(id)).toBe(true)
    expect(items.find((d) => d._id === "counter")?.n).toBe(increments)
    yield* Effect.forEach(peers, (p) => p.stop)
  })

describe("simulated network", () => {
  it.live("20–30 peers, random topology, writes, partitions, crashes: all converge, no acknowledged write lost", () =>
    Effect.gen(function*() {
      const samples = fc.sample(scenario, { seed: 20261126, numRuns: 2 })
      for (const s of samples) {
        yield* runScenario(s).pipe(Effect.provide(MemoryNetwork.layer({ defaults: { latency: "2 millis", jitter: "2 millis" } })))
      }
    }), 300_000)

  it.live("a line of 10 peers converges end to end through relays", () =>
    Effect.gen(function*() {
      const network = yield* MemoryNetwork.MemoryNetwork
      const paths = dirs(10)
      const peers: Array<SimPeer> = []
      for (let i = 0; i < 10; i++) {
        peers.push(yield* startPeer(network, `l${i}`, paths[i]!, { connect: i === 0 ? [] : [`l${i - 1}`] }))
      }
      // Only the far end subscribes: the 8 peers between relay its query upstream.
      yield* peers[9]!.sync.registerSubscription("SELECT * FROM items WHERE team = 'blue'")
      yield* peers[0]!.peer.execute("INSERT INTO items DOCUMENTS (:d)", { d: [{ _id: "a", team: "blue" }, { _id: "b", team: "red" }] })
      const seen = yield* peers[9]!.peer.execute("SELECT * FROM items").pipe(
        Effect.filterOrFail((r) => r.items.length === 1, () => "not yet"),
        Effect.retry(Schedule.spaced("50 millis").pipe(Schedule.upTo("30 seconds")))
      )
      expect(seen.items).toEqual([{ _id: "a", team: "blue" }])
      // And back: a write at the far end reaches the first peer (which subscribes now).
      yield* peers[0]!.sync.registerSubscription("SELECT * FROM items")
      yield* peers[9]!.peer.execute("UPDATE items SET seen = true WHERE _id = 'a'")
      yield* peers[0]!.peer.execute("SELECT * FROM items WHERE _id = 'a' AND seen = true").pipe(
        Effect.filterOrFail((r) => r.items.length === 1, () => "not yet"),
        Effect.retry(Schedule.spaced("50 millis").pipe(Schedule.upTo("30 seconds")))
      )
      yield* Effect.forEach(peers, (p) => p.stop)
    }).pipe(Effect.provide(MemoryNetwork.layer({ defaults: { latency: "1 millis" } }))), 120_000)

  it.live("with relay off, a peer in the middle does not forward subscriptions", () =>
    Effect.gen(function*() {
      const network = yield* MemoryNetwork.MemoryNetwork
      const paths = dirs(3)
      const a = yield* startPeer(network, "a", paths[0]!)
      const b = yield* startPeer(network, "b", paths[1]!, { connect: ["a"], relay: false })
      const c = yield* startPeer(network, "c", paths[2]!, { connect: ["b"] })
      yield* c.sync.registerSubscription("SELECT * FROM items")
      yield* a.peer.execute("INSERT INTO items DOCUMENTS (:d)", { d: { _id: "x" } })
      yield* Effect.sleep("500 millis")
      expect((yield* b.peer.execute("SELECT * FROM items")).items).toEqual([])
      expect((yield* c.peer.execute("SELECT * FROM items")).items).toEqual([])
      yield* Effect.forEach([a, b, c], (p) => p.stop)
    }).pipe(Effect.provide(MemoryNetwork.layer())))
})

