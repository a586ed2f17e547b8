/**
 * The RPC API: `ShoalRpcs` (from `@shoal/client`) served at `/rpc` over
 * HTTP (`POST`, ndjson) and WebSocket (`GET` upgrade, msgpack) on the Big
 * Peer's port.
 *
 * `AuthMiddleware` reads `authorization: Bearer …` (per request over HTTP,
 * per message over WebSocket), verifies it like the HTTP API does and
 * provides the `CurrentPrincipal`: admin, or a user of one app with its
 * permissions. A missing credential gives an anonymous principal, which may
 * only use `offline-playground` apps; an invalid one fails with `Unauthorized`.
 * Handlers then check the app named in the payload: another app's data is
 * `Forbidden`.
 */
import * as HttpLayerRouter from "@effect/platform/HttpLayerRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as RpcServer from "@effect/rpc/RpcServer"
import { Api, Errors, Rpcs, ShoalClient } from "@shoal/client"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { AccessControl, anonymous } from "./Access.js"
import { Apps, toAppInfo } from "./Apps.js"
import { Credential } from "./auth/index.js"
import { BigPeerSettings } from "./Config.js"
import * as Query from "./Query.js"
import { Tenants } from "./Tenants.js"

/** Server side of `AuthMiddleware`. */
export const AuthMiddlewareLive: Layer.Layer<Rpcs.AuthMiddleware, never, AccessControl> = Layer.effect(
  Rpcs.AuthMiddleware,
  Effect.map(AccessControl, (control) =>
    Rpcs.AuthMiddleware.of(({ headers }) => {
      const credential = Credential.fromAuthorizationHeader(headers["authorization"])
      return Option.isNone(credential)
        ? Effect.succeed(anonymous)
        : Effect.map(control.authenticate(credential.value), (who) => who.principal)
    }))
)

const adminOnly = Effect.flatMap(Rpcs.CurrentPrincipal, (principal) =>
  principal.kind === "admin"
    ? Effect.void
    : Effect.fail(new Errors.Forbidden({ message: "admin only: use the Big Peer's admin key" })))

const decodePresence = Schema.decodeUnknown(Api.PresenceGraph)

/** The handlers of every rpc. */
export const HandlersLive = Rpcs.ShoalRpcs.toLayer(Effect.gen(function*() {
  const control = yield* AccessControl
  const tenants = yield* Tenants
  const apps = yield* Apps
  const settings = yield* BigPeerSettings

  /** The caller's access to the app and the app's running replica. */
  const open = (appId: string) =>
    Effect.gen(function*() {
      const principal = yield* Rpcs.CurrentPrincipal
      const { access } = yield* control.accessFor(principal, appId)
      const tenant = yield* tenants.get(appId)
      return { access, tenant }
    })

  return {
    Execute: (request) =>
      Effect.flatMap(open(request.appId), ({ access, tenant }) =>
        Query.execute(
          tenant,
          access,
          { statement: request.statement, args: request.args, txnId: request.txnId },
          { txnWait: settings.txnWait }
        )),
    Observe: (request) =>
      Stream.unwrap(Effect.map(open(request.appId), ({ access, tenant }) =>
        Query.observe(tenant, access, { statement: request.statement, args: request.args }))),
    Presence: (request) =>
      Effect.flatMap(open(request.appId), ({ tenant }) =>
        // Sync's graph has plain strings for site ids; the schema brands (and checks) them.
        Effect.flatMap(tenant.sync.presence.current, (graph) => Effect.orDie(decodePresence(graph)))),
    CreateApp: (request) =>
      Effect.zipRight(adminOnly, Effect.map(apps.create(request), toAppInfo)),
    CreateApiKey: (request) =>
      Effect.zipRight(
        adminOnly,
        // The secret handed out once is the whole bearer string `shoal_<keyId>_<secret>`.
        Effect.map(apps.createApiKey(request), ({ bearer, keyId }) => ({ keyId, secret: bearer }))
      ),
    ReadOpLog: (request) =>
      Stream.unwrap(Effect.map(open(request.appId), ({ access, tenant }) =>
        Query.readOpLog(tenant, access, request.fromSeq ?? 0)))
  }
}))

/**
 * 413 for an RPC request whose declared body is above the limit, before the
 * RPC server reads it: the platform's own limit destroys the request stream,
 * which the client sees as a reset connection. (A chunked body without a
 * `Content-Length` still meets that ceiling; RPC clients declare the length.)
 */
const rpcBodyLimit = HttpLayerRouter.middleware(
  Effect.map(BigPeerSettings, (settings) => (httpEffect) =>
    Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
      const declared = request.headers["content-length"]
      if (request.method !== "POST" || declared === undefined || !/^\d+$/.test(declared)) return httpEffect
      if (Number(declared) <= settings.maxBodyBytes) return httpEffect
      return Effect.succeed(HttpServerResponse.unsafeJson(
        { error: { description: `request body too large: the limit is ${settings.maxBodyBytes} bytes` } },
        { status: 413, headers: { connection: "close" } }
      ))
    }))
).layer

/**
 * `POST /rpc` (ndjson) and `GET /rpc` (WebSocket, msgpack), sharing the path.
 * No span per request: tracing every call cost more CPU than the call itself
 * under load (bench/bigpeer.ts); handlers still log and fail with typed errors.
 */
export const routes = Layer.mergeAll(
  RpcServer.layerHttpRouter({ group: Rpcs.ShoalRpcs, path: Rpcs.RPC_PATH, protocol: "http", disableTracing: true }).pipe(
    Layer.provide(ShoalClient.serializationHttp),
    Layer.provide(rpcBodyLimit)
  ),
  RpcServer.layerHttpRouter({ group: Rpcs.ShoalRpcs, path: Rpcs.RPC_PATH, protocol: "websocket", disableTracing: true }).pipe(
    Layer.provide(ShoalClient.serializationWebSocket)
  )
).pipe(Layer.provide(HandlersLive))
