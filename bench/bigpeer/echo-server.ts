/**
 * The Big Peer bench's baseline server: the same `ShoalRpcs` group served the
 * same way (`RpcServer.layerHttpRouter`, WebSocket, msgpack, no tracing) on
 * the same Node HTTP server, but `Execute` answers a fixed result at once: no
 * credential check, no DQL, no storage. Its throughput under the same client
 * load is what @effect/rpc itself allows on this machine, the ceiling any
 * handler behind it can reach.
 *
 * Prints `listening on http://127.0.0.1:<port>` once it serves.
 */
import * as HttpLayerRouter from "@effect/platform/HttpLayerRouter"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as RpcServer from "@effect/rpc/RpcServer"
import { type Api, Rpcs, ShoalClient } from "@shoal/client"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"

/** The same shape as a point read's answer: one 5-field document. */
const readResult: Api.QueryResult = {
  transactionId: 1,
  queryType: "select",
  items: [{ _id: "bp-00000000", n: 0, title: "item 0", done: true, tags: ["bench", "g0"] }],
  mutatedDocumentIds: [],
  warnings: [],
  totalWarningsCount: 0
}

const unsupported = (rpc: string) => Effect.dieMessage(`${rpc} is not served by the echo baseline`)

const Handlers = Rpcs.ShoalRpcs.toLayer({
  Execute: (request) =>
    Effect.succeed(
      request.statement.startsWith("INSERT")
        ? { ...readResult, queryType: "insert", items: [], mutatedDocumentIds: ["bp-00000000"] }
        : readResult
    ),
  Observe: () => Stream.dieMessage("Observe is not served by the echo baseline"),
  Presence: () => unsupported("Presence"),
  CreateApp: () => unsupported("CreateApp"),
  CreateApiKey: () => unsupported("CreateApiKey"),
  ReadOpLog: () => Stream.dieMessage("ReadOpLog is not served by the echo baseline")
})

const Auth = Layer.succeed(Rpcs.AuthMiddleware, Rpcs.AuthMiddleware.of(() => Effect.succeed({ kind: "admin" as const })))

const routes = RpcServer.layerHttpRouter({
  group: Rpcs.ShoalRpcs,
  path: Rpcs.RPC_PATH,
  protocol: "websocket",
  disableTracing: true
}).pipe(Layer.provide([ShoalClient.serializationWebSocket, Handlers]))

const server = createServer()
server.on("listening", () => {
  const address: AddressInfo | string | null = server.address()
  if (address !== null && typeof address === "object") console.log(`listening on http://127.0.0.1:${address.port}`)
})

HttpLayerRouter.serve(routes, { disableLogger: true, disableListenLog: true }).pipe(
  Layer.provide(Auth),
  Layer.provide(NodeHttpServer.layer(() => server, { port: 0, host: "127.0.0.1" })),
  Layer.launch,
  NodeRuntime.runMain
)
