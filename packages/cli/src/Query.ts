/**
 * `shoal query <db> "<DQL>"`: run one statement against a replica file with
 * the same Replica actor a peer uses (writes are committed as ops). Items are
 * printed as JSON lines, or as a table with `--table`.
 */
import { Json } from "@shoal/core"
import { Replica } from "@shoal/peer"
import { ReplicaStore } from "@shoal/store-sqlite"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { CliError, oneLine } from "./CliError.js"
import { checkReplicaFile, openFailure, storeFailure } from "./internal/Open.js"
import { Output } from "./internal/Output.js"
import * as Table from "./internal/Table.js"

export interface QueryOptions {
  /** JSON object of `:named` arguments. */
  readonly args?: string | undefined
  readonly table: boolean
}

const parseArgs = (text: string | undefined): Effect.Effect<Json.JsonObject, CliError> => {
  if (text === undefined) return Effect.succeed({})
  return Effect.try({
    try: (): Json.Json => JSON.parse(text),
    catch: (e) => new CliError({ message: `--args is not valid JSON: ${e instanceof Error ? e.message : String(e)}` })
  }).pipe(
    Effect.filterOrFail(
      (v): v is Json.JsonObject => Json.isObject(v),
      () => new CliError({ message: "--args must be a JSON object, e.g. '{\"id\": \"a\"}'" })
    )
  )
}

const statementError = (db: string) => (e: { readonly _tag: string; readonly message: string }) =>
  e._tag === "DqlSyntaxError"
    ? new CliError({ message: `DQL syntax error: ${oneLine(e.message)}` })
    : e._tag === "StoreError"
    ? storeFailure(db)(e)
    : new CliError({ message: oneLine(e.message) })

const columnsOf = (items: ReadonlyArray<Json.JsonObject>): ReadonlyArray<string> => {
  const keys = new Set<string>()
  for (const item of items) for (const k of Object.keys(item)) keys.add(k)
  return [...keys]
}

export const query = (db: string, statement: string, options: QueryOptions) =>
  Effect.gen(function*() {
    const args = yield* parseArgs(options.args)
    yield* checkReplicaFile(db)
    const out = yield* Output
    const replicaLayer = Replica.layer.pipe(
      Layer.provide(ReplicaStore.layer({ filename: db })),
      Layer.mapError(openFailure(db))
    )
    const result = yield* Effect.flatMap(Replica, (replica) => replica.execute(statement, args)).pipe(
      Effect.mapError(statementError(db)),
      Effect.provide(replicaLayer)
    )
    if (options.table) {
      const columns = columnsOf(result.items)
      if (columns.length > 0) {
        yield* out.stdout.write(
          Table.render(
            columns.map((header) => ({ header, maxWidth: 60 })),
            result.items.map((item) => columns.map((c) => Table.jsonCell(item[c])))
          )
        )
      }
    } else {
      for (const item of result.items) yield* out.stdout.write(JSON.stringify(item) + "\n")
    }
    yield* out.stdout.flush
    for (const w of result.warnings) yield* out.stderr(`warning: ${oneLine(w)}\n`)
    if (result.queryType === "select") {
      if (options.table) yield* out.stderr(`${result.items.length} item${result.items.length === 1 ? "" : "s"}\n`)
    } else if (result.queryType === "unknown" && result.mutatedDocumentIds.length === 0) {
      yield* out.stderr("done\n")
    } else {
      const ids = result.mutatedDocumentIds
      yield* out.stderr(
        `${result.queryType}: ${ids.length} document${ids.length === 1 ? "" : "s"}${
          ids.length > 0 ? ` ${JSON.stringify(ids.slice(0, 20))}${ids.length > 20 ? " …" : ""}` : ""
        } (transaction ${result.transactionId})\n`
      )
    }
  })
