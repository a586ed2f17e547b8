/**
 * The Big Peer as one Layer: a Node HTTP server on one port serving
 * - the HTTP Data API and auth routes (`HttpApi`),
 * - the sync endpoint `GET /sync/{appId}` (`SyncEndpoint`),
 * - the RPC API at `/rpc`, HTTP and WebSocket (`RpcApi`),
 * over the app registry (`Apps`, admin SQLite) and the running apps
 * (`Tenants`, one replica + Sync per app, opened on first use).
 *
 * ```ts
 * NodeRuntime.runMain(Layer.launch(BigPeer.layerConfig))   // SHOAL_* env
 * ```
 *
 * Shutdown (scope close, e.g. SIGTERM under `NodeRuntime.runMain`): the
 * router stops taking requests and its WebSocket handlers end, the HTTP
 * server closes (it stops accepting and waits for in-flight requests), then
 * every app's links and replica close, then the admin database.
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpLayerRouter from "@effect/platform/HttpLayerRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import { createServer, type Server } from "node:http"
import { AccessControl } from "./Access.js"
import { Apps } from "./Apps.js"
import { AuthWebhook } from "./auth/AuthWebhook.js"
import { type BigPeerConfig, BigPeerSettings, config as envConfig } from "./Config.js"
import * as HttpApi from "./HttpApi.js"
import * as RpcApi from "./RpcApi.js"
import * as SyncEndpoint from "./SyncEndpoint.js"
import { Tenants } from "./Tenants.js"

/** Every route of the Big Peer (the JSON 404 last). */
export const routes = Layer.mergeAll(HttpApi.routes, SyncEndpoint.routes, RpcApi.routes, HttpApi.fallbackRoute)

/**
 * The services behind the routes, without an HTTP server: the registry,
 * credential checks and the running apps (tests and tools use them directly).
 */
export const layerServices = (config: BigPeerConfig) =>
  Tenants.layer.pipe(
    Layer.provideMerge(AccessControl.layer),
    Layer.provideMerge(Apps.layer),
    Layer.provide(AuthWebhook.layerNode()),
    Layer.provideMerge(Layer.succeed(BigPeerSettings, config))
  )

/**
 * A Big Peer listening on `config.host:config.port`. Its output gives the
 * bound address (`HttpServer`, see {@link url}) and the services of
 * {@link layerServices}.
 */
export const layer = (config: BigPeerConfig) =>
  Layer.unwrapEffect(Effect.sync(() => {
    const server = createServer()
    return HttpLayerRouter.serve(routes, { disableLogger: true, disableListenLog: true }).pipe(
      // Server-wide ceiling (RPC over HTTP included); the Data API answers 413 below it itself.
      Layer.provide(Layer.succeed(HttpServerRequest.MaxBodySize, Option.some(FileSystem.Size(config.maxBodyBytes)))),
      Layer.provide(RpcApi.AuthMiddlewareLive),
      Layer.provide(closeIdleOnShutdown(server)),
      // Built after the services, so released before them: requests end before replicas close.
      Layer.provideMerge(NodeHttpServer.layer(() => server, { port: config.port, host: config.host })),
      Layer.provideMerge(layerServices(config))
    )
  }))

/**
 * Released between the router and the server's own `close()`, which waits
 * for every connection: closes keep-alive connections as soon as they are
 * idle (the in-flight request on them answered) instead of waiting for
 * their keep-alive timeout.
 */
const closeIdleOnShutdown = (server: Server) =>
  Layer.scopedDiscard(Effect.addFinalizer(() =>
    Effect.gen(function*() {
      let closed = false
      server.once("close", () => {
        closed = true
      })
      yield* Effect.sync(() => server.closeIdleConnections()).pipe(
        Effect.repeat({ schedule: Schedule.spaced("50 millis"), until: () => closed }),
        Effect.timeout("30 seconds"),
        Effect.ignore,
        Effect.forkDaemon
      )
    })
  ))

/** {@link layer} configured from `SHOAL_*` variables (see `Config`). */
export const layerConfig = Layer.unwrapEffect(Effect.map(envConfig, layer))

/** The base URL of the running server, e.g. `http://127.0.0.1:8080`. */
export const url: Effect.Effect<string, never, HttpServer.HttpServer> = HttpServer.addressWith((address) =>
  Effect.succeed(
    address._tag === "TcpAddress"
      ? `http://${address.hostname.includes(":") ? `[${address.hostname}]` : address.hostname}:${address.port}`
      : `http+unix://${address.path}`
  )
)
