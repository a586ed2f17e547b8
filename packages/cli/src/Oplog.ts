/**
 * `shoal oplog …`: read a replica's op log — inspect it as a table, export it
 * as NDJSON, or replay it into a new replica up to a seq or a point in time.
 * Every command opens an existing replica only (see internal/Open.ts).
 */
import { Hlc, Op } from "@shoal/core"
import { OpPayload, ReplicaStore } from "@shoal/store-sqlite"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { resolve } from "node:path"
import { CliError, fromError } from "./CliError.js"
import { openExisting, storeFailure } from "./internal/Open.js"
import { atomicTarget, fileSink, Output, type Sink } from "./internal/Output.js"
import * as Progress from "./internal/Progress.js"
import { applyChunk } from "./internal/Replay.js"
import * as Table from "./internal/Table.js"
import * as Until from "./internal/Until.js"

/** Ops read from the source per step (and folded per `applyOps` call). */
export const CHUNK = 1000


/**
 * Let the event loop run between chunks. The store calls are synchronous, so
 * without a macrotask boundary a long replay never lets Node deliver SIGINT
 * or SIGTERM, and Ctrl-C would wait for the end.
 */
const breathe = Effect.async<void>((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})

const hlcTime = (hlc: string): string => {
  if (!/^[0-9a-f]{16}$/.test(hlc)) return "?"
  const ms = Hlc.millis(Hlc.Hlc.make(hlc))
  return ms <= 8.64e15 ? new Date(ms).toISOString() : "?"
}

const summarize = (payload: string): { readonly collections: string; readonly changes: string } => {
  const s = OpPayload.summary(payload)
  return s === undefined ? { collections: "?", changes: "?" } : { collections: s.collections.join(","), changes: String(s.changes) }
}

export interface InspectOptions {
  readonly limit: number
  /** First seq to show (inclusive). */
  readonly from: number
}

/** A table of ops: seq, txn, site, time (from the HLC), origin, collections, number of changes. */
export const inspect = (db: string, options: InspectOptions) =>
  Effect.scoped(
    Effect.gen(function*() {
      if (options.limit < 1) return yield* new CliError({ message: `--limit must be at least 1, got ${options.limit}` })
      if (options.from < 0) return yield* new CliError({ message: `--from must be a seq (0 or more), got ${options.from}` })
      const out = yield* Output
      const store = yield* openExisting(db)
      const rows = yield* store.readOpRows(Math.max(0, options.from - 1), options.limit).pipe(Effect.mapError(storeFailure(db)))
      const cells = rows.map((r) => {
        const s = summarize(r.payload)
        return [String(r.seq), r.txn_id, r.site_id, hlcTime(r.hlc), r.origin, s.collections, s.changes]
      })
      yield* out.stdout.write(
        Table.render(
          [
            { header: "seq", align: "right" },
            { header: "txn" },
            { header: "site" },
            { header: "time" },
            { header: "origin" },
            { header: "collections", maxWidth: 48 },
            { header: "changes", align: "right" }
          ],
          cells
        )
      )
      yield* out.stdout.flush
      const last = store.lastSeq()
      const first = rows[0]
      const top = rows[rows.length - 1]
      yield* out.stderr(
        first === undefined || top === undefined
          ? `no ops${options.from > 0 ? ` from seq ${options.from}` : ""} (last seq ${last})\n`
          : `seq ${first.seq}–${top.seq} of ${last}${top.seq < last ? `; more with --from ${top.seq + 1}` : ""}\n`
      )
    })
  )

export interface ExportOptions {
  readonly format: "ndjson"
  /** Write to this file instead of stdout. */
  readonly out?: string | undefined
  readonly force: boolean
}

const encodeOp = Schema.encode(Op.Op)

/** Every op, oldest first, one JSON object per line (decoded and re-encoded with the Op schema). */
export const exportOps = (db: string, options: ExportOptions) =>
  Effect.scoped(
    Effect.gen(function*() {
      const out = yield* Output
      const store = yield* openExisting(db)
      const sink: Sink = options.out === undefined ? out.stdout : yield* fileSink(options.out, options.force)
      const progress = yield* Progress.make("export")
      const last = store.lastSeq()
      let after = 0
      let count = 0
      for (;;) {
        const ops = yield* store.readOps(after, CHUNK).pipe(Effect.mapError(storeFailure(db)))
        if (ops.length === 0) break
        let text = ""
        for (const op of ops) {
          const encoded = yield* encodeOp(op).pipe(
            Effect.mapError((e) => new CliError({ message: `op ${op.seq} does not match the op schema: ${e.message}` }))
          )
          text += JSON.stringify(encoded) + "\n"
        }
        yield* sink.write(text)
        count += ops.length
        after = ops[ops.length - 1]!.seq
        yield* progress.update(after, last, "ops")
        yield* breathe
      }
      yield* sink.flush
      if (options.out !== undefined || progress.elapsedMs() > 1000) {
        yield* progress.done(
          `${count.toLocaleString("en-US")} ops${options.out === undefined ? "" : ` to ${options.out}`} in ${
            (progress.elapsedMs() / 1000).toFixed(2)
          } s`
        )
      }
    })
  )

export interface ReplayOptions {
  /** A seq number or an ISO time (see internal/Until.ts). */
  readonly until: string
  readonly out: string
  readonly force: boolean
}

/**
 * A new replica at `out` holding the source's state as of `until`: the op
 * log's prefix up to that seq (or up to the last op whose HLC time is at or
 * before that time) folded into a fresh store with `applyOps`, `CHUNK` ops
 * at a time. The replica is built under a temporary name and renamed into
 * place when complete. It gets its own site id, so it can never be mistaken
 * for the source if it is ever opened as a peer.
 */
export const replay = (db: string, options: ReplayOptions) =>
  Effect.scoped(
    Effect.gen(function*() {
      const until = yield* Until.parse(options.until).pipe(Effect.mapError((message) => new CliError({ message })))
      if (resolve(options.out) === resolve(db)) {
        return yield* new CliError({ message: "--out must name a new file, not the source replica" })
      }
      const source = yield* openExisting(db)
      const last = source.lastSeq()
      if (until._tag === "Seq" && until.seq > last) {
        return yield* new CliError({ message: `--until ${until.seq} is past the end of the op log (last seq ${last})` })
      }
      const tmp = yield* atomicTarget(options.out, options.force)
      const targetError = fromError(`cannot write ${options.out}`)
      const target = yield* ReplicaStore.make({ filename: tmp }).pipe(Effect.mapError(targetError))
      const progress = yield* Progress.make("replay")
      const inRange = until._tag === "Seq"
        ? (op: Op.Op) => op.seq <= until.seq
        : (op: Op.Op) => Hlc.millis(op.hlc) <= until.ms
      const goal = until._tag === "Seq" ? until.seq : last
      let after = 0
      let count = 0
      let firstSeq: number | undefined
      let lastApplied: number | undefined
      for (;;) {
        const ops = yield* source.readOps(after, CHUNK).pipe(Effect.mapError(storeFailure(db)))
        if (ops.length === 0) break
        let n = 0
        while (n < ops.length && inRange(ops[n]!)) n++
        const batch = n === ops.length ? ops : ops.slice(0, n)
        if (batch.length > 0) {
          yield* applyChunk(target, batch).pipe(Effect.mapError(targetError))
          firstSeq ??= batch[0]!.seq
          lastApplied = batch[batch.length - 1]!.seq
          count += batch.length
        }
        if (n < ops.length) break
        after = ops[ops.length - 1]!.seq
        yield* progress.update(after, goal, "ops")
        yield* breathe
      }
      const docs = yield* target.countVisible.pipe(Effect.mapError(targetError))
      const ms = progress.elapsedMs()
      const range = firstSeq === undefined || lastApplied === undefined ? "" : ` (seq ${firstSeq}–${lastApplied})`
      const point = until._tag === "Time" ? ` up to ${until.text}` : ""
      yield* progress.done(
        `${count.toLocaleString("en-US")} ops${range}${point} → ${options.out}: ${docs.toLocaleString("en-US")} documents in ${
          (ms / 1000).toFixed(2)
        } s (${Progress.rate(count, ms)} ops/s)`
      )
    })
  )
