/**
 * The contract between the bench runner (run.ts) and each benchmark module.
 * A benchmark measures Shoal and, in the same process run, the baseline it
 * is compared with; the runner computes ratios, checks targets and writes
 * bench/RESULTS.md. New benchmarks (sync, mesh, big peer, CDC) are further
 * modules exporting a `Bench`, registered in run.ts.
 */
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"

/** What a row must reach to PASS. */
export type Target =
  /** Shoal at least `value` × the baseline (in the row's "better" direction). */
  | { readonly kind: "ratio"; readonly value: number }
  /** Shoal's own figure at least `value` (throughputs). */
  | { readonly kind: "atLeast"; readonly value: number }
  /** Shoal's own figure at most `value` (latencies, times). */
  | { readonly kind: "atMost"; readonly value: number }

export interface Row {
  readonly metric: string
  /** Shoal's figure. */
  readonly shoal: number
  /** The raw/reference system's figure, measured in the same run. */
  readonly baseline?: number | undefined
  /** What the baseline is ("raw better-sqlite3, prepared stmt, 1000-row txns"). */
  readonly baselineLabel?: string | undefined
  readonly unit: string
  /** Throughputs are "higher", latencies and times "lower". */
  readonly better: "higher" | "lower"
  readonly target?: Target | undefined
  readonly note?: string | undefined
}

export interface BenchContext {
  /** A fresh temporary directory for this benchmark (removed afterwards). */
  readonly workDir: string
  /** Workload size (documents), from SHOAL_BENCH_DOCS (default 100k). */
  readonly docs: number
  /** Progress on stderr. */
  readonly log: (message: string) => Effect.Effect<void>
}

export interface Bench {
  readonly name: string
  readonly title: string
  /** One paragraph for RESULTS.md: the workload and what the baseline is. */
  readonly description: string
  readonly run: (ctx: BenchContext) => Effect.Effect<ReadonlyArray<Row>, unknown, Scope.Scope>
}

/** Relative speed: > 1 means Shoal is faster than the baseline. */
export const ratio = (row: Row): number | undefined =>
  row.baseline === undefined || row.baseline === 0 || row.shoal === 0
    ? undefined
    : row.better === "higher"
    ? row.shoal / row.baseline
    : row.baseline / row.shoal

export const passes = (row: Row): boolean | undefined => {
  const t = row.target
  if (t === undefined) return undefined
  switch (t.kind) {
    case "ratio": {
      const r = ratio(row)
      return r !== undefined && r >= t.value
    }
    case "atLeast":
      return row.shoal >= t.value
    case "atMost":
      return row.shoal <= t.value
  }
}

/** Rows with unit "check" are yes/no verifications (1 = yes). */
export const formatValue = (n: number, unit: string): string => (unit === "check" ? (n >= 1 ? "yes" : "no") : format(n))

export const describeTarget = (t: Target, unit: string): string => {
  if (unit === "check") return "yes"
  switch (t.kind) {
    case "ratio":
      return `≥ ${Math.round(t.value * 100)}% of raw`
    case "atLeast":
      return `≥ ${format(t.value)} ${unit}`
    case "atMost":
      return `≤ ${format(t.value)} ${unit}`
  }
}

export const format = (n: number): string =>
  Math.abs(n) >= 1000
    ? Math.round(n).toLocaleString("en-US")
    : Math.abs(n) >= 100
    ? n.toFixed(0)
    : Math.abs(n) >= 10
    ? n.toFixed(1)
    : n.toFixed(2)

/** Percentile (0–100) of a list of numbers. */
export const percentile = (values: ReadonlyArray<number>, p: number): number => {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[i]!
}

// ------------------------------------------------------------ across processes

/** A number as JSON carries it: NaN (a figure this platform cannot measure) travels as null. */
const WireNumber = Schema.transform(Schema.NullOr(Schema.Number), Schema.Number, {
  strict: true,
  decode: (n) => n ?? Number.NaN,
  encode: (n) => (Number.isNaN(n) ? null : n)
})

const TargetSchema = Schema.Union(
  Schema.Struct({ kind: Schema.Literal("ratio"), value: Schema.Number }),
  Schema.Struct({ kind: Schema.Literal("atLeast"), value: Schema.Number }),
  Schema.Struct({ kind: Schema.Literal("atMost"), value: Schema.Number })
)

const RowSchema = Schema.Struct({
  metric: Schema.String,
  shoal: WireNumber,
  baseline: Schema.optional(WireNumber),
  baselineLabel: Schema.optional(Schema.String),
  unit: Schema.String,
  better: Schema.Literal("higher", "lower"),
  target: Schema.optional(TargetSchema),
  note: Schema.optional(Schema.String)
})

/** What a benchmark run in its own process (`run.ts --one <name>`) reports to the runner: one JSON line. */
export const OutcomeJson = Schema.parseJson(Schema.Struct({
  rows: Schema.Array(RowSchema),
  seconds: Schema.Number,
  error: Schema.optional(Schema.String)
}))

