/**
 * The Shoal RPC contract (`@effect/rpc`): the group the Big Peer serves at
 * `/rpc` (HTTP and WebSocket) and `ShoalClient` calls. It lives in the client
 * package so a client ships without the server.
 *
 * Every rpc goes through {@link AuthMiddleware}: the client sends
 * `authorization: Bearer <credential>` (API key, signed token, playground
 * token or admin token) with each request; the server verifies it and
 * provides the {@link CurrentPrincipal} to the handlers, or fails the call
 * with `Unauthorized`.
 */
import * as Rpc from "@effect/rpc/Rpc"
import * as RpcGroup from "@effect/rpc/RpcGroup"
import * as RpcMiddleware from "@effect/rpc/RpcMiddleware"
import * as Context from "effect/Context"
import * as Schema from "effect/Schema"
import {
  AppInfo,
  AppRequest,
  CreateApiKeyRequest,
  CreateAppRequest,
  CreatedApiKey,
  ExecuteRequest,
  ObserveRequest,
  OpLogEntry,
  PresenceGraph,
  type Principal,
  QueryResult,
  ReadOpLogRequest
} from "./Api.js"
import { AppNotFound, DocumentTooLarge, DqlError, Forbidden, InvalidRequest, Unauthorized } from "./Errors.js"

/** The authenticated caller of the current rpc; provided to handlers by {@link AuthMiddleware}. */
export class CurrentPrincipal extends Context.Tag("@shoal/client/CurrentPrincipal")<CurrentPrincipal, Principal>() {}

/**
 * Authentication of every Shoal rpc. Server side: reads the `authorization`
 * header, provides {@link CurrentPrincipal} or fails with `Unauthorized`.
 * Client side (`requiredForClient`): adds the header to every request
 * (`ShoalClient` does this).
 */
export class AuthMiddleware extends RpcMiddleware.Tag<AuthMiddleware>()("@shoal/client/AuthMiddleware", {
  provides: CurrentPrincipal,
  failure: Unauthorized,
  requiredForClient: true
}) {}

/** Run one DQL statement; fails with `DqlError`, `Forbidden`, `AppNotFound`, `DocumentTooLarge` or `InvalidRequest`. */
export const Execute = Rpc.make("Execute", {
  payload: ExecuteRequest,
  success: QueryResult,
  error: Schema.Union(DqlError, Forbidden, AppNotFound, DocumentTooLarge, InvalidRequest)
})

/** Observe a query: a stream of results, the current one first, then one per change. Over WebSocket, stopping the stream cancels it on the server. */
export const Observe = Rpc.make("Observe", {
  payload: ObserveRequest,
  success: QueryResult,
  error: Schema.Union(DqlError, Forbidden, AppNotFound, InvalidRequest),
  stream: true
})

/** The presence graph of an app as seen by the server. */
export const Presence = Rpc.make("Presence", {
  payload: AppRequest,
  success: PresenceGraph,
  error: Schema.Union(Forbidden, AppNotFound)
})

/** Create an app (admin only); fails with `InvalidRequest` if it exists or the options are inconsistent. */
export const CreateApp = Rpc.make("CreateApp", {
  payload: CreateAppRequest,
  success: AppInfo,
  error: Schema.Union(Forbidden, InvalidRequest)
})

/** Create an API key for an app (admin only). The secret is returned once. */
export const CreateApiKey = Rpc.make("CreateApiKey", {
  payload: CreateApiKeyRequest,
  success: CreatedApiKey,
  error: Schema.Union(Forbidden, AppNotFound, InvalidRequest)
})

/** Stream an app's op log from `fromSeq` (for replay and inspection tools). */
export const ReadOpLog = Rpc.make("ReadOpLog", {
  payload: ReadOpLogRequest,
  success: OpLogEntry,
  error: Schema.Union(Forbidden, AppNotFound),
  stream: true
})

/** The Shoal RPC group, authenticated by {@link AuthMiddleware}. Serve it with `RpcServer.layerHttpRouter({ group: ShoalRpcs, path: "/rpc", … })`. */
export class ShoalRpcs extends RpcGroup.make(Execute, Observe, Presence, CreateApp, CreateApiKey, ReadOpLog)
  .middleware(AuthMiddleware)
{}

/** Default mount path of the RPC endpoint on the Big Peer (HTTP POST and WebSocket GET). */
export const RPC_PATH = "/rpc"
