/**
 * @shoal/client — the typed client of the Shoal Big Peer and the RPC
 * contract it serves.
 *
 * - `Api`: request/result schemas (also the HTTP Data API shapes) and `Principal`.
 * - `Errors`: the tagged errors that cross the wire.
 * - `Rpcs`: the `ShoalRpcs` group, `AuthMiddleware`, `CurrentPrincipal`.
 * - `ShoalClient`: `ShoalClient.layerHttp` / `ShoalClient.layerWebSocket`.
 */
export * as Api from "./Api.js"
export * as Errors from "./Errors.js"
export * as Rpcs from "./Rpcs.js"
export * as ShoalClient from "./ShoalClient.js"
