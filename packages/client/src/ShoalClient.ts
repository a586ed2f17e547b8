/**
 * The typed Shoal RPC client.
 *
 * ```ts
 * const program = Effect.gen(function*() {
 *   const shoal = yield* ShoalClient
 *   const result = yield* shoal.Execute({ appId: "app", statement: "SELECT * FROM tasks" })
 * })
 * program.pipe(Effect.provide(ShoalClient.layerWebSocket({ url: "ws://localhost:8080/rpc", token })))
 * ```
 *
 * Two transports, one API:
 * - {@link ShoalClient.layerHttp}: one HTTP POST per call, ndjson framing (so
 *   streams arrive item by item). Stopping a stream early only drops the HTTP
 *   response; prefer WebSocket for `Observe`.
 * - {@link ShoalClient.layerWebSocket}: one WebSocket, msgpack frames;
 *   interrupting a stream cancels it on the server; reconnects on transient
 *   socket errors.
 *
 * The client closes when the scope its layer was built in closes.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Headers from "@effect/platform/Headers"
import * as Socket from "@effect/platform/Socket"
import * as RpcClient from "@effect/rpc/RpcClient"
import type { RpcClientError } from "@effect/rpc/RpcClientError"
import * as RpcMiddleware from "@effect/rpc/RpcMiddleware"
import * as RpcSerialization from "@effect/rpc/RpcSerialization"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { NodeWebSocket } from "./internal/NodeWebSocket.js"
import { AuthMiddleware, ShoalRpcs } from "./Rpcs.js"

/** Where and how to connect. */
export interface ShoalClientOptions {
  /**
   * The RPC endpoint: `http(s)://host:port/rpc` for {@link ShoalClient.layerHttp},
   * `ws(s)://host:port/rpc` (or the http(s) form, converted) for
   * {@link ShoalClient.layerWebSocket}.
   */
  readonly url: string
  /** The bearer credential: an API key, a signed token, a playground token or the admin token. */
  readonly token: string | Redacted.Redacted<string>
}

/** The typed client of {@link ShoalRpcs}: one method per rpc (streams for `Observe` and `ReadOpLog`). */
export type ShoalRpcClient = RpcClient.FromGroup<typeof ShoalRpcs, RpcClientError>

/**
 * Serialization of the HTTP protocol (`POST /rpc`): newline-delimited JSON,
 * so streaming rpcs are framed. The server's HTTP route must use the same.
 */
export const serializationHttp: Layer.Layer<RpcSerialization.RpcSerialization> = RpcSerialization.layerNdjson

/**
 * Serialization of the WebSocket protocol (`GET /rpc`): msgpack frames.
 * The server's WebSocket route must use the same.
 */
export const serializationWebSocket: Layer.Layer<RpcSerialization.RpcSerialization> = RpcSerialization.layerMsgPack

/**
 * The client half of {@link AuthMiddleware}: adds `authorization: Bearer <token>`
 * to every request (inside each message over WebSocket, so no upgrade header is needed).
 */
export const layerAuth = (token: string | Redacted.Redacted<string>): Layer.Layer<RpcMiddleware.ForClient<AuthMiddleware>> =>
  RpcMiddleware.layerClient(AuthMiddleware, ({ request }) =>
    Effect.succeed({
      ...request,
      headers: Headers.set(
        request.headers,
        "authorization",
        `Bearer ${Redacted.isRedacted(token) ? Redacted.value(token) : token}`
      )
    }))

/**
 * `WebSocket` constructor for `@effect/platform` sockets: the platform's own
 * when it has one (browsers, Node >= 22), else the `ws` package (Node 20).
 */
export const layerWebSocketConstructor: Layer.Layer<Socket.WebSocketConstructor> = Layer.sync(
  Socket.WebSocketConstructor,
  () =>
    typeof globalThis.WebSocket === "function"
      ? (url, protocols) => new globalThis.WebSocket(url, protocols)
      : (url, protocols) => new NodeWebSocket(url, protocols)
)

/** `http://h/rpc` → `ws://h/rpc`, `https://…` → `wss://…`; other URLs unchanged. */
export const toWebSocketUrl = (url: string): string => url.replace(/^http(s?):\/\//i, "ws$1://")

/**
 * The Shoal client service. Its value is the typed `RpcClient` of
 * {@link ShoalRpcs}; build it with {@link ShoalClient.layerHttp} or
 * {@link ShoalClient.layerWebSocket}.
 */
export class ShoalClient extends Context.Tag("@shoal/client/ShoalClient")<ShoalClient, ShoalRpcClient>() {
  /** A client over whatever `RpcClient.Protocol` is provided (custom transports, tests). */
  static readonly layer = (
    token: string | Redacted.Redacted<string>
  ): Layer.Layer<ShoalClient, never, RpcClient.Protocol> =>
    Layer.scoped(ShoalClient, RpcClient.make(ShoalRpcs)).pipe(Layer.provide(layerAuth(token)))

  /** A client over HTTP (`fetch`, ndjson). */
  static readonly layerHttp = (options: ShoalClientOptions): Layer.Layer<ShoalClient> =>
    ShoalClient.layer(options.token).pipe(
      Layer.provide(RpcClient.layerProtocolHttp({ url: options.url })),
      Layer.provide([serializationHttp, FetchHttpClient.layer])
    )

  /** A client over one WebSocket (msgpack); reconnects on transient socket errors. */
  static readonly layerWebSocket = (options: ShoalClientOptions): Layer.Layer<ShoalClient> =>
    ShoalClient.layer(options.token).pipe(
      Layer.provide(RpcClient.layerProtocolSocket({ retryTransientErrors: true })),
      Layer.provide([
        serializationWebSocket,
        Socket.layerWebSocket(toWebSocketUrl(options.url)).pipe(Layer.provide(layerWebSocketConstructor))
      ])
    )
}

/** {@link ShoalClient.layerHttp}, so that `ShoalClient.layerHttp(…)` also works on the module namespace. */
export const layerHttp = ShoalClient.layerHttp
/** {@link ShoalClient.layerWebSocket}, so that `ShoalClient.layerWebSocket(…)` also works on the module namespace. */
export const layerWebSocket = ShoalClient.layerWebSocket
/** {@link ShoalClient.layer}: a client over a provided `RpcClient.Protocol`. */
export const layer = ShoalClient.layer
