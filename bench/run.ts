/**
 * `npm run bench [-- name …]`: runs the named benchmarks (default: all), each
 * in a child process of its own (`--one <name>`), and writes
 * bench/RESULTS.md. Each benchmark's section in
 * RESULTS.md is replaced when it runs; sections of benchmarks not run this
 * time are kept. Exit code 1 if a target FAILs or a benchmark crashes.
 *
 * SHOAL_BENCH_DOCS scales the workloads (default 100000).
 */
import { NodeRuntime } from "@effect/platform-node"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import { execFileSync, spawn } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import * as os from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { type Bench, describeTarget, format, formatValue, OutcomeJson, passes, ratio, type Row } from "./Bench.js"
import { bigpeer } from "./bigpeer.js"
import { local } from "./local.js"
import { mesh } from "./mesh.js"
import { sync } from "./sync.js"

/** Every benchmark, in run order. Add sync / mesh / big-peer / CDC modules here. */
const registry: ReadonlyArray<Bench> = [local, sync, mesh, bigpeer]

const here = dirname(fileURLToPath(import.meta.url))
const resultsFile = join(here, "RESULTS.md")

const started = performance.now()
const log = (message: string) =>
  Effect.sync(() => process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s] ${message}\n`))

const docsFromEnv = (): number => {
  const text = process.env.SHOAL_BENCH_DOCS
  if (text === undefined || text === "") return 100_000
  const n = Number(text)
  if (!Number.isInteger(n) || n < 1000) throw new Error(`SHOAL_BENCH_DOCS must be an integer ≥ 1000, got '${text}'`)
  return n
}

const git = (...args: ReadonlyArray<string>) => {
  try {
    return execFileSync("git", args, { cwd: here, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim()
  } catch {
    return undefined
  }
}

const machine = (docs: number) => {
  const cpus = os.cpus()
  const commit = git("rev-parse", "--short", "HEAD")
  const dirty = git("status", "--porcelain") ? " (with uncommitted changes)" : ""
  return [
    `- date: ${new Date().toISOString()}`,
    `- machine: ${cpus[0]?.model.trim() ?? "unknown CPU"} × ${cpus.length}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${os.type()} ${os.release()} ${os.arch()}`,
    `- node ${process.version}; commit ${commit ?? "unknown"}${dirty}`,
    `- load average when written (1/5/15 min): ${os.loadavg().map((l) => l.toFixed(2)).join(" / ")} — above ~1 per core, other work shares the CPUs`,
    `- SHOAL_BENCH_DOCS=${docs}`
  ].join("\n")
}

interface Outcome {
  readonly bench: Bench
  readonly rows: ReadonlyArray<Row>
  readonly seconds: number
  readonly error?: string | undefined
}

const verdict = (row: Row) => {
  const p = passes(row)
  return p === undefined ? "" : p ? "PASS" : "**FAIL**"
}

const section = (o: Outcome, docs: number) => {
  const lines = [
    `<!-- bench:${o.bench.name} -->`,
    `## ${o.bench.name} — ${o.bench.title}`,
    "",
    o.bench.description,
    "",
    machine(docs),
    `- wall time of this benchmark: ${o.seconds.toFixed(1)} s`,
    ""
  ]
  if (o.error !== undefined) lines.push(`**CRASHED**: ${o.error}`, "")
  if (o.rows.length > 0) {
    lines.push(
      "| metric | Shoal | raw baseline | unit | ratio | target | result |",
      "|---|---:|---:|---|---:|---|---|"
    )
    for (const r of o.rows) {
      const q = ratio(r)
      const base = r.baseline === undefined ? "—" : `${format(r.baseline)}${r.baselineLabel === undefined ? "" : ` (${r.baselineLabel})`}`
      lines.push(
        `| ${r.metric}${r.note === undefined ? "" : ` — ${r.note}`} | ${formatValue(r.shoal, r.unit)} | ${base} | ${r.unit === "check" ? "" : r.unit} | ${
          q === undefined ? "—" : `${q.toFixed(2)}×`
        } | ${r.target === undefined ? "—" : describeTarget(r.target, r.unit)} | ${verdict(r)} |`
      )
    }
    lines.push("", "Ratio: Shoal relative to the baseline in the better direction (1.00× = as fast as raw).")
  }
  lines.push(`<!-- /bench:${o.bench.name} -->`)
  return lines.join("\n")
}

/** Replace the sections that ran, keep the others. */
const writeResults = (outcomes: ReadonlyArray<Outcome>, docs: number) => {
  const header = "# Shoal benchmark results\n\nWritten by `npm run bench` (see docs/benchmarks.md). Each section is replaced when its benchmark runs.\n"
  let body = existsSync(resultsFile) ? readFileSync(resultsFile, "utf8") : header
  if (!body.startsWith("# ")) body = header
  for (const o of outcomes) {
    const text = section(o, docs)
    const re = new RegExp(`<!-- bench:${o.bench.name} -->[\\s\\S]*?<!-- /bench:${o.bench.name} -->`)
    body = re.test(body) ? body.replace(re, () => text) : `${body.trimEnd()}\n\n${text}\n`
  }
  writeFileSync(resultsFile, body.endsWith("\n") ? body : body + "\n")
}

const printRows = (rows: ReadonlyArray<Row>) =>
  Effect.sync(() => {
    for (const r of rows) {
      const q = ratio(r)
      process.stdout.write(
        `  ${r.metric.padEnd(66)} ${formatValue(r.shoal, r.unit).padStart(10)} ${(r.unit === "check" ? "" : r.unit).padEnd(9)}` +
          (r.baseline === undefined ? "" : ` raw ${format(r.baseline).padStart(10)}`) +
          (q === undefined ? "" : `  ${q.toFixed(2)}×`) +
          (r.target === undefined ? "" : `  ${describeTarget(r.target, r.unit)} ${passes(r) ? "PASS" : "FAIL"}`) +
          "\n"
      )
    }
  })

/** Marks the outcome line a benchmark's own process prints on stdout. */
const OUTCOME = "BENCH-OUTCOME "

/** Run one benchmark here (in this process) and time it. */
const runHere = (bench: Bench, docs: number) =>
  Effect.gen(function*() {
    const workDir = mkdtempSync(join(os.tmpdir(), `shoal-bench-${bench.name}-`))
    const t0 = performance.now()
    const exit = yield* Effect.exit(
      Effect.scoped(bench.run({ workDir, docs, log: (m) => log(`  ${bench.name}: ${m}`) }))
    )
    rmSync(workDir, { recursive: true, force: true })
    const seconds = (performance.now() - t0) / 1000
    return Exit.isSuccess(exit)
      ? { rows: exit.value, seconds }
      : { rows: [], seconds, error: Cause.pretty(exit.cause).split("\n").slice(0, 3).join(" ") }
  })

/**
 * Run one benchmark in a process of its own (this script with `--one`), so
 * that no benchmark runs in a heap the previous ones grew: the mesh measured
 * 5–15% slower after the local benchmark than on its own.
 */
const runIsolated = (bench: Bench) =>
  Effect.async<typeof OutcomeJson.Type>((resume) => {
    const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), "--one", bench.name], {
      stdio: ["ignore", "pipe", "inherit"]
    })
    let out = ""
    child.stdout.on("data", (b: Buffer) => void (out += b.toString()))
    child.on("close", (code, signal) => {
      const line = out.split("\n").find((l) => l.startsWith(OUTCOME))
      const decoded = line === undefined ? undefined : Schema.decodeUnknownEither(OutcomeJson)(line.slice(OUTCOME.length))
      if (decoded !== undefined && decoded._tag === "Right") return resume(Effect.succeed(decoded.right))
      const why = decoded === undefined ? `its process ended (${signal ?? `exit code ${code}`}) without a result` : "its result was unreadable"
      resume(Effect.succeed({ rows: [], seconds: 0, error: why }))
    })
    return Effect.sync(() => void child.kill("SIGTERM"))
  })

const main = Effect.gen(function*() {
  const docs = docsFromEnv()
  const args = process.argv.slice(2)
  const one = args.indexOf("--one")
  if (one >= 0) {
    // A child of the runner: one benchmark, its outcome as one JSON line.
    const bench = registry.find((b) => b.name === args[one + 1])
    if (bench === undefined) return yield* Effect.fail(`--one: unknown benchmark ${args[one + 1] ?? "(none)"}`)
    const outcome = yield* runHere(bench, docs)
    const line = yield* Schema.encode(OutcomeJson)(outcome)
    yield* Effect.sync(() => process.stdout.write(`${OUTCOME}${line}\n`))
    return
  }
  const wanted = args.filter((a) => !a.startsWith("-"))
  const unknown = wanted.filter((w) => !registry.some((b) => b.name === w))
  if (unknown.length > 0) {
    return yield* Effect.fail(`unknown benchmark(s): ${unknown.join(", ")}; known: ${registry.map((b) => b.name).join(", ")}`)
  }
  const selected = wanted.length === 0 ? registry : registry.filter((b) => wanted.includes(b.name))
  const outcomes: Array<Outcome> = []
  for (const bench of selected) {
    yield* log(`▶ ${bench.name}: ${bench.title} (SHOAL_BENCH_DOCS=${docs})`)
    const result = yield* runIsolated(bench)
    outcomes.push({ bench, ...result })
    if (result.error === undefined) yield* printRows(result.rows)
    else yield* log(`✗ ${bench.name} crashed: ${result.error}`)
  }
  writeResults(outcomes, docs)
  yield* log(`wrote ${resultsFile}`)
  const failed = outcomes.some((o) => o.error !== undefined || o.rows.some((r) => passes(r) === false))
  if (failed) return yield* Effect.fail("some targets FAILED (see RESULTS.md)")
})

NodeRuntime.runMain(main)
