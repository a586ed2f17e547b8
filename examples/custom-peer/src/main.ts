/**
 * A custom peer composed from Layers: SmallPeer (SQLite replica) + Sync +
 * the WebSocket transport. It listens and/or connects, subscribes to a
 * collection, prints every change of it, and runs DQL typed on stdin.
 *
 *   node --import tsx examples/custom-peer/src/main.ts --listen 4001 --dir ./data/a
 *   node --import tsx examples/custom-peer/src/main.ts --connect ws://127.0.0.1:4001 --dir ./data/b
 *
 * Each stdin line is a DQL statement, optionally followed by ` -- {json args}`;
 * results are printed as one JSON line each (`{"result": …}` or `{"error": …}`).
 */
import { NodeRuntime } from "@effect/platform-node"
import { SmallPeer, Sync } from "@shoal/peer"
import { WebSocketTransport } from "@shoal/transport-websocket"
import { Json } from "@shoal/core"
import { Console, Effect, Either, Layer, Option, Schema, Stream } from "effect"
import { createInterface } from "node:readline"
import { parseArgs } from "node:util"

const { values } = parseArgs({
  options: {
    listen: { type: "string" },
    connect: { type: "string", multiple: true },
    dir: { type: "string", default: "./data/custom-peer" },
    app: { type: "string", default: "custom" },
    name: { type: "string" },
    collection: { type: "string", default: "notes" },
    "retry-ms": { type: "string", default: "250" }
  }
})

const decodeArgs = Schema.decodeUnknownEither(Schema.parseJson(Json.JsonObject))

const port = values.listen === undefined ? undefined : Number(values.listen)
const transport = WebSocketTransport.layer(
  port === undefined ? {} : { listen: { host: "127.0.0.1", port } }
)
const peer = Sync.Sync.layer({
  appId: values.app,
  connect: values.connect ?? [],
  retryIntervalMs: Number(values["retry-ms"]),
  ...(values.name === undefined ? {} : { deviceName: values.name })
}).pipe(
  Layer.provideMerge(SmallPeer.layer({ appId: values.app, persistenceDir: values.dir })),
  Layer.provideMerge(transport)
)

const print = (value: unknown) => Console.log(JSON.stringify(value))

const program = Effect.gen(function*() {
  const small = yield* SmallPeer
  const sync = yield* Sync.Sync
  const server = yield* WebSocketTransport.WebSocketServerInfo
  yield* sync.registerSubscription(`SELECT * FROM ${values.collection}`)
  yield* print({ ready: { siteId: small.siteId, listening: Option.getOrNull(server.url) } })
  // Live view of the collection.
  yield* small.observe(`SELECT * FROM ${values.collection} ORDER BY _id`).pipe(
    Stream.runForEach((items) => print({ changed: items })),
    Effect.catchAll((e) => print({ error: e.message })),
    Effect.forkScoped
  )
  // DQL from stdin, one statement per line.
  const lines = Stream.async<string>((emit) => {
    const rl = createInterface({ input: process.stdin })
    rl.on("line", (line) => void emit.single(line))
    rl.on("close", () => void emit.end())
    return Effect.sync(() => rl.close())
  })
  yield* lines.pipe(
    Stream.filter((line) => line.trim() !== ""),
    Stream.runForEach((line) => {
      const at = line.indexOf(" -- ")
      const statement = at < 0 ? line : line.slice(0, at)
      const args = at < 0 ? Either.right({}) : decodeArgs(line.slice(at + 4))
      if (Either.isLeft(args)) return print({ error: `bad args: ${args.left.message}` })
      return small.execute(statement.trim(), args.right).pipe(
        Effect.flatMap((result) => print({ result })),
        Effect.catchAll((e) => print({ error: e.message }))
      )
    })
  )
  // stdin closed: keep syncing until interrupted (Ctrl-C / SIGTERM).
  yield* Effect.never
})

NodeRuntime.runMain(program.pipe(Effect.scoped, Effect.provide(peer)))
