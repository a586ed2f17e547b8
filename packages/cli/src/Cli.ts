/**
 * The `shoal` command line (@effect/cli). `run(argv)` parses, runs the
 * command and reports any failure as one line, `shoal: <message>`, on stderr;
 * it then fails with `Reported` so the entry point exits with code 1.
 * Usage errors are printed by @effect/cli itself.
 */
import { Args, Command, Options, ValidationError } from "@effect/cli"
import * as Cause from "effect/Cause"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { CliError, oneLine } from "./CliError.js"
import { Output } from "./internal/Output.js"
import * as Oplog from "./Oplog.js"
import * as Query from "./Query.js"

export const VERSION = "0.0.0"

const db = Args.text({ name: "db" }).pipe(Args.withDescription("path of a replica file (an existing Shoal SQLite file)"))
const force = Options.boolean("force").pipe(Options.withDescription("overwrite the --out file if it exists"))

const inspect = Command.make(
  "inspect",
  {
    db,
    limit: Options.integer("limit").pipe(Options.withPseudoName("n"), Options.withDefault(100), Options.withDescription("ops to show")),
    from: Options.integer("from").pipe(Options.withPseudoName("seq"), Options.withDefault(1), Options.withDescription("first seq to show"))
  },
  ({ db, from, limit }) => Oplog.inspect(db, { from, limit })
).pipe(Command.withDescription("Show the op log as a table: seq, txn, site, time, origin, collections, changes."))

const exportCommand = Command.make(
  "export",
  {
    db,
    format: Options.choice("format", ["ndjson"]).pipe(Options.withDefault("ndjson" as const)),
    out: Options.text("out").pipe(
      Options.withPseudoName("file"),
      Options.optional,
      Options.withDescription("write to this file instead of stdout")
    ),
    force
  },
  ({ db, force, format, out }) => Oplog.exportOps(db, { format, out: Option.getOrUndefined(out), force })
).pipe(Command.withDescription("Write every op as one JSON object per line (NDJSON)."))

const replay = Command.make(
  "replay",
  {
    db,
    until: Options.text("until").pipe(
      Options.withPseudoName("seq|time"),
      Options.withDescription("last op to replay: a seq number, or an ISO time (ops whose HLC time is at or before it)")
    ),
    out: Options.text("out").pipe(Options.withPseudoName("file"), Options.withDescription("path of the new replica file")),
    force
  },
  ({ db, force, out, until }) => Oplog.replay(db, { until, out, force })
).pipe(Command.withDescription("Build a new replica from the op log up to a seq or a point in time."))

const oplog = Command.make("oplog").pipe(
  Command.withDescription("Read a replica's op log."),
  Command.withSubcommands([inspect, exportCommand, replay])
)

const query = Command.make(
  "query",
  {
    db,
    statement: Args.text({ name: "statement" }).pipe(Args.withDescription("one DQL statement")),
    args: Options.text("args").pipe(
      Options.withPseudoName("json"),
      Options.optional,
      Options.withDescription("JSON object of :named arguments")
    ),
    table: Options.boolean("table").pipe(Options.withDescription("print a table instead of JSON lines"))
  },
  ({ args, db, statement, table }) => Query.query(db, statement, { args: Option.getOrUndefined(args), table })
).pipe(Command.withDescription("Run one DQL statement against a replica file."))

const shoal = Command.make("shoal").pipe(
  Command.withDescription("Shoal command line tools."),
  Command.withSubcommands([oplog, query])
)

const cli = Command.run(shoal, { name: "shoal", version: VERSION })

/** The failure has been reported on stderr; exit with code 1. */
export class Reported extends Data.TaggedError("Reported")<{}> {}

const messageOf = (u: unknown): string => {
  if (typeof u === "object" && u !== null && "message" in u && typeof u.message === "string" && u.message !== "") {
    return oneLine(u.message)
  }
  return oneLine(String(u))
}

/** One line for any failure: typed errors by their message, defects as internal errors. */
export const describeCause = (cause: Cause.Cause<unknown>): string | undefined => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) {
    // @effect/cli has already printed usage errors.
    if (ValidationError.isValidationError(failure.value)) return undefined
    return messageOf(failure.value)
  }
  const defect = Cause.dieOption(cause)
  if (Option.isSome(defect)) {
    return defect.value instanceof CliError ? defect.value.message : `internal error: ${messageOf(defect.value)}`
  }
  return Cause.isInterruptedOnly(cause) ? "interrupted" : oneLine(Cause.pretty(cause).split("\n")[0] ?? "failed")
}

export const run = (argv: ReadonlyArray<string>) =>
  cli(argv).pipe(
    Effect.catchAllCause((cause) =>
      Effect.gen(function*() {
        if (Cause.isInterruptedOnly(cause)) return yield* Effect.failCause(cause)
        const message = describeCause(cause)
        if (message !== undefined) {
          const out = yield* Output
          yield* out.stderr(`shoal: ${message}\n`)
        }
        return yield* new Reported()
      })
    )
  )
