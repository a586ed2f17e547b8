/**
 * @shoal/big-peer — the Shoal server: many apps, each with its own replica
 * and keys; a sync endpoint for small peers; auth (playground tokens, signed
 * tokens from a provider webhook, API keys) and permissions; the HTTP Data
 * API; the RPC API of `@shoal/client`.
 *
 * - `BigPeer`: `BigPeer.layer(config)` / `BigPeer.layerConfig`, `BigPeer.url`.
 * - `Config`: `BigPeerConfig`, `SHOAL_*` variables.
 * - `Apps`: the app and API-key registry (admin SQLite).
 * - `Access`: credentials → principal, permissions, sync grants, login.
 * - `Tenants`: the running apps (replica + Sync each).
 * - `Query`: DQL under permissions (shared by HTTP and RPC).
 * - `HttpApi`, `SyncEndpoint`, `RpcApi`: the routes.
 * - `PeerAuth`: `LinkAuth` for small peers of signed-token and playground apps.
 * - auth building blocks: `ApiKeys`, `AppKeys`, `AuthWebhook`, `Credential`, `PlaygroundToken`, `Tokens`.
 */
export * as Access from "./Access.js"
export * as Apps from "./Apps.js"
export * from "./auth/index.js"
export * as BigPeer from "./BigPeer.js"
export * as Config from "./Config.js"
export * as HttpApi from "./HttpApi.js"
export * as PeerAuth from "./PeerAuth.js"
export * as Query from "./Query.js"
export * as RpcApi from "./RpcApi.js"
export * as SyncEndpoint from "./SyncEndpoint.js"
export * as Tenants from "./Tenants.js"
