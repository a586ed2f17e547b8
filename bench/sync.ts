/**
 * Sync benchmarks between two OS processes over WebSocket on loopback:
 * initial sync of the workload (durable on the receiver), then a reconnect
 * after one changed document; against the raw limit measured in the same run
 * (the same documents as msgpack batches over `ws`, inserted with a prepared
 * better-sqlite3 statement, WAL + synchronous=NORMAL).
 */
import { SmallPeer } from "@shoal/peer"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import type { ChildProcessWithoutNullStreams } from "node:child_process"
import { mkdirSync } from "node:fs"
import { createServer } from "node:net"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import type { Bench, BenchContext, Row } from "./Bench.js"
import { benchChild } from "./Child.js"
import { benchDocs } from "./sync/docs.js"

const here = dirname(fileURLToPath(import.meta.url))

interface Child {
  readonly proc: ChildProcessWithoutNullStreams
  readonly events: Array<Record<string, unknown>>
}

const freePort = Effect.async<number>((resume) => {
  const srv = createServer()
  srv.listen(0, "127.0.0.1", () => {
    const address = srv.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    srv.close(() => resume(Effect.succeed(port)))
  })
})

/** A bench child process whose JSON stdout lines are collected as events. */
const child = (script: string, args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const events: Array<Record<string, unknown>> = []
    const proc = yield* benchChild(join(here, "sync", script), args, {
      graceMs: 3000,
      // The receiver collects its start-up garbage before its clock starts.
      nodeFlags: ["--expose-gc"],
      onLine: (line) => {
        if (line.startsWith("{")) events.push(JSON.parse(line))
      }
    })
    return { proc, events }
  })

/** Reconnects measured; the median counts. */
const RECONNECTS = 3
/** Initial syncs and raw-limit runs, alternating; the fastest of each counts. */
const INITIAL_RUNS = 3

/** The first event of `c` with `key` (equal to `value` when given). */
const waitFor = (c: Child, key: string, value?: unknown) =>
  Effect.suspend(() => {
    const hit = c.events.find((e) => key in e && (value === undefined || e[key] === value))
    return hit === undefined ? Effect.fail(`no ${key} yet`) : Effect.succeed(hit)
  }).pipe(Effect.retry(Schedule.spaced("5 millis").pipe(Schedule.upTo("300 seconds"))))

const num = (v: unknown) => (typeof v === "number" ? v : Number.NaN)
const trafficBytes = (e: Record<string, unknown>) => {
  const t = e.traffic
  return typeof t === "object" && t !== null && "bytesSent" in t && "bytesReceived" in t
    ? num(t.bytesSent) + num(t.bytesReceived)
    : Number.NaN
}

export const sync: Bench = {
  name: "sync",
  title: "Initial sync and reconnect between two processes over WebSocket vs the raw limit",
  description:
    "Two OS processes on 127.0.0.1. The sender's replica holds the workload (5-field documents); a fresh " +
    "receiver connects, subscribes to everything, and the clock stops when every document is committed in its " +
    "replica file. Then the receiver stops, one document changes on the sender, and a restarted receiver " +
    "reconnects: time and bytes (both directions, handshake included) until the change is durable; that is done " +
    `${RECONNECTS} times (a different document each time) and the median reconnect counts. Raw limit: ` +
    "the same documents as msgpack batches of 1000 over one `ws` connection, inserted with a prepared " +
    "better-sqlite3 statement in one transaction per batch. The initial sync and the raw limit run 3 times " +
    "each, alternating, into fresh files; the fastest run counts on both sides. Each receiver collects its start-up garbage " +
    "(a full GC) before its clock starts.",
  run: (ctx: BenchContext) =>
    Effect.gen(function*() {
      const n = ctx.docs
      const senderDir = join(ctx.workDir, "sender")
      const receiverDirs = Array.from({ length: INITIAL_RUNS }, (_, i) => join(ctx.workDir, `receiver${i}`))
      const rawDirs = Array.from({ length: INITIAL_RUNS }, (_, i) => join(ctx.workDir, `raw${i}`))
      for (const d of [senderDir, ...receiverDirs, ...rawDirs]) mkdirSync(d, { recursive: true })
      const receiverDir = receiverDirs[0]!

      yield* ctx.log(`writing ${n} documents into the sender's replica`)
      yield* Effect.scoped(Effect.gen(function*() {
        const env = yield* Layer.build(SmallPeer.layer({ appId: "bench", persistenceDir: senderDir }))
        const peer = Context.get(env, SmallPeer)
        const docs = benchDocs(n)
        for (let i = 0; i < n; i += 1000) yield* peer.execute("INSERT INTO items DOCUMENTS (:docs)", { docs: docs.slice(i, i + 1000) })
      }))

      const port = yield* freePort
      const sender = yield* child("peer.ts", ["sender", "--dir", senderDir, "--port", String(port)])
      yield* waitFor(sender, "ready")
      const url = `ws://127.0.0.1:${port}`

      // Initial sync and the raw limit each run INITIAL_RUNS times, in turn,
      // into fresh files; the fastest run counts on both sides. One run on a
      // shared 2-core machine varies by ±15%, and alternating the two keeps
      // a stretch of load from other work from falling on one side only.
      const initialSync = (dir: string) =>
        Effect.scoped(Effect.gen(function*() {
          const receiver = yield* child("peer.ts", ["receiver", "--dir", dir, "--url", url, "--count", String(n)])
          const done = yield* waitFor(receiver, "done")
          // Let the last acknowledgements reach the sender before this receiver stops.
          yield* Effect.sleep("300 millis")
          return done
        }))
      const rawRun = (dir: string) =>
        Effect.scoped(Effect.gen(function*() {
          const rawPort = yield* freePort
          const rx = yield* child("raw.ts", ["raw-receiver", "--dir", dir, "--port", String(rawPort), "--count", String(n)])
          yield* waitFor(rx, "ready")
          yield* child("raw.ts", ["raw-sender", "--url", `ws://127.0.0.1:${rawPort}`, "--count", String(n)])
          return yield* waitFor(rx, "done")
        }))
      const initials: Array<Record<string, unknown>> = []
      const raws: Array<Record<string, unknown>> = []
      for (let i = 0; i < INITIAL_RUNS; i++) {
        yield* ctx.log(`initial sync (Shoal), then the raw limit (ws + msgpack → better-sqlite3): ${i + 1} of ${INITIAL_RUNS}`)
        initials.push(yield* initialSync(receiverDirs[i]!))
        raws.push(yield* rawRun(rawDirs[i]!))
      }
      const initialMs = Math.min(...initials.map((r) => num(r.ms)))
      const initialBytes = trafficBytes(initials[0]!)
      const rawMs = Math.min(...raws.map((r) => num(r.ms)))
      const rawBytes = num(raws[0]!.bytes)

      // Each reconnect is a cold process, whose time varies by ±20%: the
      // median of a few counts, each with a document of its own changed.
      const reconnects: Array<Record<string, unknown>> = []
      for (let r = 0; r < RECONNECTS; r++) {
        const probe = `item-${String(7 + r).padStart(7, "0")}`
        yield* ctx.log(`reconnect after one change (${r + 1} of ${RECONNECTS})`)
        sender.proc.stdin.write(`update ${probe}\n`)
        yield* waitFor(sender, "updated", probe)
        reconnects.push(yield* Effect.scoped(Effect.gen(function*() {
          const receiver = yield* child("peer.ts", ["receiver", "--dir", receiverDir, "--url", url, "--count", String(n), "--probe", probe])
          return yield* waitFor(receiver, "done")
        })))
      }
      const byTime = [...reconnects].sort((a, b) => num(a.ms) - num(b.ms))
      const again = byTime[Math.floor(byTime.length / 2)]!


      const docsPerSec = (ms: number) => (n / ms) * 1000
      const rows: Array<Row> = [
        {
          metric: `initial sync of ${n.toLocaleString("en")} docs, durable on the receiver`,
          shoal: docsPerSec(initialMs),
          baseline: docsPerSec(rawMs),
          baselineLabel: "raw ws + msgpack → better-sqlite3",
          unit: "docs/s",
          better: "higher",
          target: { kind: "atLeast", value: 100_000 }
        },
        {
          metric: "initial sync vs the raw limit",
          shoal: docsPerSec(initialMs),
          baseline: docsPerSec(rawMs),
          baselineLabel: "raw ws + msgpack → better-sqlite3",
          unit: "docs/s",
          better: "higher",
          target: { kind: "ratio", value: 0.5 }
        },
        {
          metric: "initial sync: wire bytes per document (both directions)",
          shoal: initialBytes / n,
          baseline: rawBytes / n,
          baselineLabel: "raw msgpack batches",
          unit: "B/doc",
          better: "lower"
        },
        {
          metric: "reconnect after one change: until durable",
          shoal: num(again.ms),
          unit: "ms",
          better: "lower",
          target: { kind: "atMost", value: 50 },
          note: `from the receiver's first dial (process start excluded); median of ${RECONNECTS} reconnects: ${
            reconnects.map((r) => num(r.ms).toFixed(0)).join(", ")
          } ms`
        },
        {
          metric: "reconnect after one change: bytes on the wire",
          shoal: trafficBytes(again),
          unit: "B",
          better: "lower",
          target: { kind: "atMost", value: 4096 }
        }
      ]
      return rows
    })
}
