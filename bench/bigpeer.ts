/**
 * Big Peer load benchmark: one Big Peer (examples/big-peer-server) in a child
 * process on 127.0.0.1, driven from this process by
 * - N typed clients (`@shoal/client`, one WebSocket each) running a mixed
 *   25 writes : 15 reads workload, for N = 8, 16, 32, 64;
 * - 32 concurrent HTTP Data API requests (`fetch`, keep-alive), read-only.
 * Baseline: the same client load against bare @effect/rpc (bigpeer/echo-server.ts).
 */
import { ShoalClient } from "@shoal/client"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import type { ChildProcessWithoutNullStreams } from "node:child_process"
import { mkdirSync, readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { type Bench, type BenchContext, percentile, type Row } from "./Bench.js"
import { benchChild } from "./Child.js"

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, "..")

/** Each load run stops at whichever comes first. */
const runMillis = 3000
const runMaxOps = 300_000
const clientCounts = [8, 16, 32, 64] as const
/** Per 40 operations: 25 writes, 15 reads. */
const writesPer40 = 25
const httpConcurrency = 32
const httpMillis = 3000

interface Server {
  readonly proc: ChildProcessWithoutNullStreams
  readonly lines: Array<string>
  readonly stderr: string
}

/** The Big Peer child process; SIGTERM when the scope closes (SIGKILL after 5 s). */
const bigPeer = (dataDir: string) =>
  Effect.gen(function*() {
    const lines: Array<string> = []
    let stderr = ""
    const proc = yield* benchChild(join(root, "examples/big-peer-server/src/main.ts"), [], {
      cwd: root,
      env: { ...process.env, SHOAL_PORT: "0", SHOAL_HOST: "127.0.0.1", SHOAL_DATA_DIR: dataDir },
      graceMs: 5000,
      onLine: (line) => void lines.push(line),
      onStderr: (b) => {
        if (stderr.length < 20_000) stderr += b.toString()
      }
    })
    const server: Server = {
      proc,
      lines,
      get stderr() {
        return stderr
      }
    }
    return server
  })

/** CPU seconds (user + system) used so far by a process, from /proc (Linux); NaN elsewhere. */
const procCpuSeconds = (pid: number | undefined): number => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return (Number(fields[11]) + Number(fields[12])) / 100 // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return Number.NaN
  }
}
const selfCpuSeconds = () => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1e6
}

interface CpuUse {
  /** Cores used on average by the server process / this (load-generating) process. */
  readonly serverCores: number
  readonly clientCores: number
  /** CPU seconds used by the server process. */
  readonly serverSeconds: number
  readonly text: string
}

/** Starts measuring; the returned function gives the CPU used by each side since. */
const cpuSplit = (pid: number | undefined) => {
  const wall0 = performance.now()
  const server0 = procCpuSeconds(pid)
  const self0 = selfCpuSeconds()
  return (): CpuUse => {
    const wall = (performance.now() - wall0) / 1000
    const serverSeconds = procCpuSeconds(pid) - server0
    const serverCores = serverSeconds / wall
    const clientCores = (selfCpuSeconds() - self0) / wall
    return {
      serverCores,
      clientCores,
      serverSeconds,
      text: `CPU: server ${Number.isNaN(serverCores) ? "?" : serverCores.toFixed(2)} cores, client ${clientCores.toFixed(2)} cores`
    }
  }
}

interface Announced {
  readonly url: string
  readonly appId: string
  readonly token: string
  readonly execute: string
}

/** Parses what main.ts prints once it listens (the "HTTP API:" line comes last). */
const announced = (s: Server) =>
  Effect.suspend(() => {
    if (s.proc.exitCode !== null) {
      return Effect.die(new Error(`big peer exited with ${s.proc.exitCode}: ${s.stderr.slice(0, 500)}`))
    }
    const find = (re: RegExp) => {
      for (const line of s.lines) {
        const m = re.exec(line)
        if (m !== null) return m[1]
      }
      return undefined
    }
    const url = find(/listening on (http:\/\/\S+)/)
    const appId = find(/^\s*app id:\s+(\S+)/)
    const token = find(/^\s*token:\s+(\S+)/)
    const execute = find(/^\s*HTTP API:\s+(\S+)/)
    return url === undefined || appId === undefined || token === undefined || execute === undefined
      ? Effect.fail("not announced yet")
      : Effect.succeed<Announced>({ url, appId, token, execute })
  }).pipe(Effect.retry(Schedule.spaced("20 millis").pipe(Schedule.upTo("60 seconds"))))

interface LoadResult {
  readonly ops: number
  readonly writes: number
  readonly reads: number
  readonly errors: number
  readonly seconds: number
  readonly latencies: Array<number>
  readonly firstError?: string | undefined
  readonly cpu: CpuUse
}

const describe = (e: unknown): string => {
  if (typeof e === "object" && e !== null) {
    const tag = "_tag" in e ? String(e._tag) : ""
    const message = "message" in e ? String(e.message) : ""
    return `${tag} ${message}`.trim() || JSON.stringify(e).slice(0, 200)
  }
  return String(e)
}

export const bigpeer: Bench = {
  name: "bigpeer",
  title: "Big Peer under load: typed WebSocket clients (mixed writes/reads) and the HTTP Data API",
  description:
    "One Big Peer (`examples/big-peer-server`, port 0, fresh data dir) in a child process on 127.0.0.1; the load " +
    "is generated in the bench process, so **client and server share the same CPUs (2 cores on the reference " +
    "machine)** and the figures are a lower bound for a dedicated server. Mixed load: N concurrent `@shoal/client` " +
    "connections (one WebSocket each, msgpack) each issue `Execute` calls back to back, 25 writes " +
    "(`INSERT INTO items DOCUMENTS (:d)`, one new 5-field document with a unique `_id`) per 15 reads " +
    "(`SELECT * FROM items WHERE _id = :id` of a document already written); each run lasts " +
    `${runMillis / 1000} s or ${runMaxOps.toLocaleString("en")} operations, whichever comes first; latency is per ` +
    `call, as seen by the client. HTTP Data API: ${httpConcurrency} requests in flight through Node's \`fetch\` ` +
    `(keep-alive) to \`POST /{appId}/api/v4/store/execute\` with the playground token, a read-only statement ` +
    `(point read by \`_id\`), for ${httpMillis / 1000} s. Before the runs, min(SHOAL_BENCH_DOCS, 10,000) ` +
    "documents are inserted so that reads have targets. Each throughput row notes the CPU the server process and " +
    "the load-generating process each used during the run (cores, from /proc). Baseline of the mixed load: the " +
    "same clients against `bench/bigpeer/echo-server.ts`, the same RPC group served by bare @effect/rpc the same " +
    "way, whose `Execute` answers a fixed result (no credential check, no DQL, no storage): the ceiling of the " +
    "RPC stack itself on this machine.",
  run: (ctx: BenchContext) =>
    Effect.gen(function*() {
      const dataDir = join(ctx.workDir, "big-peer")
      mkdirSync(dataDir, { recursive: true })

      yield* ctx.log("starting the Big Peer")
      const server = yield* bigPeer(dataDir)
      const info = yield* announced(server)
      const rpcUrl = `${info.url}/rpc`
      const appId = info.appId
      yield* ctx.log(`Big Peer at ${info.url}, app ${appId}`)
      if (!/^http:\/\/127\.0\.0\.1:/.test(info.url)) return yield* Effect.die(new Error(`not on loopback: ${info.url}`))

      const connectTo = (url: string) =>
        Effect.map(
          Layer.build(ShoalClient.layerWebSocket({ url, token: info.token })),
          (env) => Context.get(env, ShoalClient.ShoalClient)
        )
      const connect = connectTo(rpcUrl)

      // Ids already written (reads pick from these).
      const written: Array<string> = []
      let nextId = 0
      const newDoc = () => {
        const i = nextId++
        const _id = `bp-${i.toString().padStart(8, "0")}`
        return { _id, n: i, title: `item ${i}`, done: i % 2 === 0, tags: ["bench", `g${i % 10}`] }
      }

      // Seed.
      const seed = Math.min(ctx.docs, 10_000)
      yield* ctx.log(`seeding ${seed} documents`)
      yield* Effect.scoped(Effect.gen(function*() {
        const client = yield* connect
        for (let i = 0; i < seed; i += 1000) {
          const docs = Array.from({ length: Math.min(1000, seed - i) }, newDoc)
          yield* client.Execute({ appId, statement: "INSERT INTO items DOCUMENTS (:docs)", args: { docs } })
          for (const d of docs) written.push(d._id)
        }
      }))

      /** The mixed load of `clients` connections against the server at `url` (process `pid`). */
      const load = (clients: number, url: string, pid: number | undefined) =>
        Effect.scoped(Effect.gen(function*() {
          const conns = yield* Effect.forEach(Array.from({ length: clients }), () => connectTo(url), {
            concurrency: "unbounded"
          })
          // Warm up: the first call opens each WebSocket.
          yield* Effect.forEach(
            conns,
            (c) => c.Execute({ appId, statement: "SELECT * FROM items WHERE _id = :id", args: { id: written[0]! } }),
            { concurrency: "unbounded", discard: true }
          )
          const cpu = cpuSplit(pid)
          const latencies: Array<number> = []
          let ops = 0
          let writes = 0
          let reads = 0
          let errors = 0
          let firstError: string | undefined
          const t0 = performance.now()
          const deadline = t0 + runMillis
          const worker = (client: (typeof conns)[number], w: number) =>
            Effect.gen(function*() {
              let k = w * 7 // stagger the write/read pattern across clients
              while (performance.now() < deadline && ops < runMaxOps) {
                ops++
                const isWrite = k++ % 40 < writesPer40
                const started = performance.now()
                const result = yield* Effect.either(
                  isWrite
                    ? Effect.suspend(() => {
                      const d = newDoc()
                      return Effect.as(
                        client.Execute({ appId, statement: "INSERT INTO items DOCUMENTS (:d)", args: { d } }),
                        d._id
                      )
                    })
                    : client.Execute({
                      appId,
                      statement: "SELECT * FROM items WHERE _id = :id",
                      args: { id: written[Math.floor(Math.random() * written.length)]! }
                    }).pipe(Effect.as(undefined))
                )
                latencies.push(performance.now() - started)
                if (result._tag === "Left") {
                  errors++
                  if (firstError === undefined) firstError = describe(result.left)
                } else if (isWrite) {
                  writes++
                  written.push(result.right!)
                } else {
                  reads++
                }
              }
            })
          yield* Effect.forEach(conns, worker, { concurrency: "unbounded", discard: true })
          const seconds = (performance.now() - t0) / 1000
          return { ops, writes, reads, errors, seconds, latencies, firstError, cpu: cpu() } satisfies LoadResult
        }))

      const mixed: Array<{ readonly n: number; readonly r: LoadResult }> = []
      for (const n of clientCounts) {
        yield* ctx.log(`mixed load, ${n} clients`)
        const r = yield* load(n, rpcUrl, server.proc.pid)
        const completed = r.writes + r.reads
        const opsPerSec = completed / r.seconds
        yield* ctx.log(
          `${n} clients: ${Math.round(opsPerSec)} ops/s (${r.writes} writes, ${r.reads} reads, ${r.errors} errors in ${
            r.seconds.toFixed(2)
          } s; ${r.cpu.text})${r.firstError === undefined ? "" : `; first error: ${r.firstError}`}`
        )
        mixed.push({ n, r })
      }

      // The ceiling: the same clients against bare @effect/rpc (bench/bigpeer/echo-server.ts).
      const ceiling = new Map<number, LoadResult>()
      const writtenBefore = written.length
      yield* Effect.scoped(Effect.gen(function*() {
        yield* ctx.log("starting the bare @effect/rpc echo server")
        const lines: Array<string> = []
        const echo = yield* benchChild(join(here, "bigpeer/echo-server.ts"), [], {
          cwd: root,
          graceMs: 5000,
          onLine: (line) => void lines.push(line)
        })
        const url = yield* Effect.suspend(() => {
          const found = lines.map((l) => /listening on (http:\/\/\S+)/.exec(l)?.[1]).find((u) => u !== undefined)
          return found === undefined ? Effect.fail("not listening yet") : Effect.succeed(found)
        }).pipe(Effect.retry(Schedule.spaced("20 millis").pipe(Schedule.upTo("60 seconds"))))
        for (const n of clientCounts) {
          const r = yield* load(n, `${url}/rpc`, echo.pid)
          yield* ctx.log(`echo baseline, ${n} clients: ${Math.round((r.writes + r.reads) / r.seconds)} ops/s (${r.cpu.text})`)
          ceiling.set(n, r)
        }
      }))
      written.length = writtenBefore // the echo server stored none of its "writes"

      const rows: Array<Row> = []
      for (const { n, r } of mixed) {
        const completed = r.writes + r.reads
        const opsPerSec = completed / r.seconds
        const bare = ceiling.get(n)
        const bareOps = bare === undefined ? undefined : (bare.writes + bare.reads) / bare.seconds
        const errNote = r.errors === 0 ? "" : `; ${r.errors} errors (${r.firstError ?? "?"})`
        rows.push(
          {
            metric: `mixed 25w:15r, ${n} WebSocket clients: throughput`,
            shoal: opsPerSec,
            baseline: bareOps,
            baselineLabel: "bare @effect/rpc, same group, clients and msgpack; fixed answer, no auth, no storage",
            unit: "ops/s",
            better: "higher",
            target: n >= 16 ? { kind: "atLeast", value: 40_000 } : undefined,
            note: `${r.writes.toLocaleString("en")} writes + ${r.reads.toLocaleString("en")} reads in ${
              r.seconds.toFixed(1)
            } s${errNote}; ${r.cpu.text}`
          },
          {
            metric: `mixed 25w:15r, ${n} WebSocket clients: p50 latency`,
            shoal: percentile(r.latencies, 50),
            unit: "ms",
            better: "lower"
          },
          {
            metric: `mixed 25w:15r, ${n} WebSocket clients: p99 latency`,
            shoal: percentile(r.latencies, 99),
            unit: "ms",
            better: "lower"
          },
          {
            metric: `mixed 25w:15r, ${n} WebSocket clients: server CPU per operation`,
            shoal: (r.cpu.serverSeconds / completed) * 1e6,
            unit: "µs",
            better: "lower",
            ...(bare === undefined ? {} : {
              baseline: (bare.cpu.serverSeconds / (bare.writes + bare.reads)) * 1e6,
              baselineLabel: "bare @effect/rpc echo server"
            }),
            note: "independent of CPU contention; 1e6 / this = ops/s one fully used core could serve"
          }
        )
      }

      // HTTP Data API, read-only.
      yield* ctx.log(`HTTP Data API, ${httpConcurrency} in flight`)
      const http = yield* Effect.promise(async () => {
        const latencies: Array<number> = []
        let ok = 0
        let failed = 0
        let firstFailure: string | undefined
        const headers = { authorization: `Bearer ${info.token}`, "content-type": "application/json" }
        const call = async (id: string) => {
          const res = await fetch(info.execute, {
            method: "POST",
            headers,
            body: JSON.stringify({ statement: "SELECT * FROM items WHERE _id = :id", args: { id } })
          })
          const text = await res.text()
          return { status: res.status, text }
        }
        // Warm up the connections.
        await Promise.all(Array.from({ length: httpConcurrency }, () => call(written[0]!)))
        const cpu = cpuSplit(server.proc.pid)
        const t0 = performance.now()
        const deadline = t0 + httpMillis
        await Promise.all(Array.from({ length: httpConcurrency }, async () => {
          while (performance.now() < deadline) {
            const started = performance.now()
            try {
              const { status, text } = await call(written[Math.floor(Math.random() * written.length)]!)
              latencies.push(performance.now() - started)
              if (status === 200) ok++
              else {
                failed++
                firstFailure ??= `${status} ${text.slice(0, 200)}`
              }
            } catch (e) {
              latencies.push(performance.now() - started)
              failed++
              firstFailure ??= String(e)
            }
          }
        }))
        return { ok, failed, firstFailure, latencies, seconds: (performance.now() - t0) / 1000, cpu: cpu() }
      })
      yield* ctx.log(
        `HTTP: ${Math.round(http.ok / http.seconds)} req/s, ${http.failed} failed, ${http.cpu.text}${
          http.firstFailure === undefined ? "" : ` (${http.firstFailure})`
        }`
      )
      const httpNote = `${http.ok.toLocaleString("en")} OK${
        http.failed === 0 ? "" : `, ${http.failed} failed (${http.firstFailure ?? "?"})`
      } in ${http.seconds.toFixed(1)} s; ${http.cpu.text}`
      rows.push(
        {
          metric: `HTTP Data API point read, ${httpConcurrency} in flight: throughput`,
          shoal: http.ok / http.seconds,
          unit: "req/s",
          better: "higher",
          note: httpNote
        },
        {
          metric: `HTTP Data API point read, ${httpConcurrency} in flight: p50 latency`,
          shoal: percentile(http.latencies, 50),
          unit: "ms",
          better: "lower"
        },
        {
          metric: `HTTP Data API point read, ${httpConcurrency} in flight: p99 latency`,
          shoal: percentile(http.latencies, 99),
          unit: "ms",
          better: "lower"
        },
        {
          metric: `HTTP Data API point read, ${httpConcurrency} in flight: server CPU per request`,
          shoal: (http.cpu.serverSeconds / http.ok) * 1e6,
          unit: "µs",
          better: "lower"
        }
      )
      return rows
    })
}
