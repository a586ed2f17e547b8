// Child process of the sync bench: one Small Peer over WebSocket.
//   sender   --dir D --port P          serve D's replica; stdin "update <id>" changes one document
//   receiver --dir D --url U --count N  subscribe to everything, report when N documents are durable
// Output: one JSON line per event on stdout.
import { NodeRuntime } from "@effect/platform-node"
import { SmallPeer, type SmallPeerShape, Sync } from "@shoal/peer"
import { WebSocketTransport } from "@shoal/transport-websocket"
import { Context, Effect, Layer, Queue, Stream } from "effect"
import { createInterface } from "node:readline"
import { parseArgs } from "node:util"

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    dir: { type: "string" },
    port: { type: "string" },
    url: { type: "string" },
    count: { type: "string" },
    probe: { type: "string" }
  }
})
const role = positionals[0]
const out = (value: unknown) => Effect.sync(() => process.stdout.write(JSON.stringify(value) + "\n"))

const layer = (listen: number | undefined, connect: ReadonlyArray<string>) =>
  Sync.Sync.layer({ appId: "bench", connect, retryIntervalMs: 50 }).pipe(
    Layer.provideMerge(SmallPeer.layer({ appId: "bench", persistenceDir: values.dir! })),
    Layer.provideMerge(WebSocketTransport.layer(listen === undefined ? {} : { listen: { host: "127.0.0.1", port: listen } }))
  )

const sender = Effect.gen(function*() {
  const peer = yield* SmallPeer
  yield* out({ ready: true })
  const lines = Stream.async<string>((emit) => {
    const rl = createInterface({ input: process.stdin })
    rl.on("line", (l) => void emit.single(l))
    rl.on("close", () => void emit.end())
  })
  yield* lines.pipe(Stream.runForEach((line) => {
    const [cmd, id] = line.split(" ")
    return cmd === "update"
      ? peer.execute("UPDATE items SET f1 = :v WHERE _id = :id", { id: id!, v: `changed-${Date.now()}` }).pipe(
        Effect.zipRight(out({ updated: id })),
        Effect.orDie
      )
      : Effect.void
  }))
  yield* Effect.never
}).pipe(Effect.provide(layer(Number(values.port), [])))

/** Whether the probe document carries the sender's change (true when there is no probe). */
const peerChanged = (peer: SmallPeerShape, probe: string | undefined) =>
  probe === undefined
    ? Effect.succeed(true)
    : peer.execute("SELECT f1 FROM items WHERE _id = :id", { id: probe }).pipe(
      Effect.map((r) => String(r.items[0]?.f1 ?? "").startsWith("changed")),
      Effect.orDie
    )

const receiver = Effect.gen(function*() {
  // The replica file is opened first: the clock measures sync, not SQLite start-up.
  const local = yield* Layer.build(SmallPeer.layer({ appId: "bench", persistenceDir: values.dir! }))
  const localPeer = Context.get(local, SmallPeer)
  const probe = values.probe
  // A reconnect's probe: the commits are watched, and the document checked,
  // before sync starts (nothing can merge before), so that the clock does
  // not count this bench's own first query in a cold process.
  const probeKey = probe === undefined ? undefined : JSON.stringify(probe)
  const changed = peerChanged(localPeer, probe)
  const commits = probe === undefined ? undefined : yield* localPeer.replica.subscribe
  let probeDone = yield* changed
  // Process start is not measured, and neither is collecting its garbage: a
  // cold process (modules loaded, TypeScript compiled by the bench's loader)
  // otherwise runs a 6–7 ms scavenge in the middle of a reconnect, or not,
  // depending on when its young generation fills.
  const gc: unknown = Reflect.get(globalThis, "gc")
  if (typeof gc === "function") gc()
  const started = performance.now()
  const ctx = yield* Layer.build(
    Sync.Sync.layer({ appId: "bench", connect: [values.url!], retryIntervalMs: 50 }).pipe(
      Layer.provideMerge(Layer.succeedContext(local)),
      Layer.provideMerge(WebSocketTransport.layer({}))
    )
  )
  const peer = yield* Effect.provide(SmallPeer, ctx)
  const sync = yield* Effect.provide(Sync.Sync, ctx)
  yield* sync.subscribeAll
  const want = Number(values.count)
  const store = peer.replica.store
  // Durable = committed in the replica file. Commit events count the documents
  // merged (a count(*) poll would cost the receiver more than the sync).
  if (commits === undefined) {
    let merged = yield* store.countVisible.pipe(Effect.orDie)
    yield* peer.replica.commitEvents.pipe(
      Stream.takeUntil((e) => (merged += e.changes.length) >= want),
      Stream.runDrain
    )
  } else {
    // The commit that merges the changed document (no polling: a query every
    // few ms would cost the cold receiver more than the reconnect itself).
    while (!probeDone) {
      const e = yield* Queue.take(commits)
      if (e.changes.some((c) => c.id === probeKey)) probeDone = yield* changed
    }
  }
  const ms = performance.now() - started
  const traffic = yield* sync.traffic
  yield* out({ done: true, ms, traffic })
  yield* Effect.never
}).pipe(Effect.scoped)

NodeRuntime.runMain(role === "sender" ? sender : receiver)
