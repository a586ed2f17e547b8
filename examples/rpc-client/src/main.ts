/**
 * Call a Shoal Big Peer with the typed client (`@shoal/client`): observe a
 * query, insert a document, read it back (read-your-writes), then stop.
 *
 *   node --import tsx examples/rpc-client/src/main.ts --url http://127.0.0.1:8080 --app demo --token <token>
 *
 * Flags (or env): --url (SHOAL_URL, default http://127.0.0.1:8080), --app (SHOAL_APP_ID,
 * default demo), --token (SHOAL_TOKEN: playground token, signed token or API key),
 * --protocol websocket|http (default websocket; Observe cancels cleanly over WebSocket).
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { ShoalClient } from "@shoal/client"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { parseArgs } from "node:util"

const { values } = parseArgs({
  options: {
    url: { type: "string", default: process.env["SHOAL_URL"] ?? "http://127.0.0.1:8080" },
    app: { type: "string", default: process.env["SHOAL_APP_ID"] ?? "demo" },
    token: { type: "string", default: process.env["SHOAL_TOKEN"] ?? "" },
    protocol: { type: "string", default: "websocket" }
  }
})
const appId = values.app
const rpcUrl = values.url.replace(/\/+$/, "").replace(/(\/rpc)?$/, "/rpc")
const options = { url: rpcUrl, token: values.token }
const client = values.protocol === "http" ? ShoalClient.layerHttp(options) : ShoalClient.layerWebSocket(options)

/** Prints the reason and makes the process exit with 1. */
const fail = (reason: string) =>
  Effect.zipRight(Console.error(reason), Effect.sync(() => {
    process.exitCode = 1
  }))

const program = Effect.gen(function*() {
  const shoal = yield* ShoalClient.ShoalClient
  const title = `written by rpc-client at ${new Date().toISOString()}`

  // 1. Observe: the current result, then one per change (until we have seen our insert).
  const watcher = yield* shoal.Observe({ appId, statement: "SELECT * FROM tasks ORDER BY title" }).pipe(
    Stream.tap((r) => Console.log(`observe: ${r.items.length} task(s) at transaction ${r.transactionId}`)),
    Stream.takeUntil((r) => r.items.some((d) => d["title"] === title)),
    Stream.runDrain,
    Effect.fork
  )

  // 2. Insert (the _id is generated and returned).
  const inserted = yield* shoal.Execute({
    appId,
    statement: "INSERT INTO tasks DOCUMENTS (:task)",
    args: { task: { title, done: false } }
  })
  yield* Console.log(`insert: ${JSON.stringify(inserted.mutatedDocumentIds)} in transaction ${inserted.transactionId}`)

  // 3. Query, read-your-writes: runs once the server reached our transaction.
  const open = yield* shoal.Execute({
    appId,
    statement: "SELECT * FROM tasks WHERE done = :done ORDER BY title",
    args: { done: false },
    txnId: inserted.transactionId
  })
  yield* Console.log(`query: ${open.items.length} open task(s)`)
  for (const task of open.items) yield* Console.log(`  - ${JSON.stringify(task)}`)

  yield* Fiber.join(watcher).pipe(Effect.timeout("10 seconds"))
  yield* Console.log("done")
}).pipe(
  Effect.catchTags({
    DqlError: (e) => fail(`bad statement: ${e.message}`),
    Unauthorized: (e) => fail(`unauthorized: ${e.message} (pass --token)`),
    Forbidden: (e) => fail(`forbidden: ${e.message}`),
    AppNotFound: (e) => fail(e.message)
  })
)

NodeRuntime.runMain(program.pipe(Effect.provide(Layer.fresh(client))))
