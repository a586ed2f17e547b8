/**
 * Schemas shared by the Shoal RPC API and the HTTP Data API: requests,
 * results, presence, apps, API keys and the authenticated principal.
 *
 * `QueryResult` is also the body of every HTTP Data API answer (the
 * `QueryResponse` of Ditto's HTTP API v4), so a result decoded here is the
 * same object whichever API produced it.
 */
import { Json, Op, Permissions, SiteId } from "@shoal/core"
import * as Schema from "effect/Schema"

/** A non-negative integer (sequence numbers, transaction ids, counts). */
const Count = Schema.NonNegativeInt

/** Named arguments of a DQL statement (`:name` in the statement). */
export const Args = Json.JsonObjectInput
/** See {@link Args}. */
export type Args = typeof Args.Type

/**
 * Run one DQL statement against an app.
 *
 * `txnId` (read-your-writes): the server runs the statement only once its
 * replica has reached that transaction (the `transactionId` of an earlier
 * result), like the `X-Shoal-Txn-Id` header of the HTTP Data API.
 */
export const ExecuteRequest = Schema.Struct({
  appId: Schema.String,
  statement: Schema.String,
  args: Schema.optionalWith(Args, { exact: true }),
  txnId: Schema.optionalWith(Count, { exact: true })
})
/** See {@link ExecuteRequest}. */
export type ExecuteRequest = typeof ExecuteRequest.Type

/** Which kind of statement produced a result; `"unknown"` when it failed before that was known. */
export const QueryType = Schema.Literal("select", "insert", "update", "delete", "unknown")
/** See {@link QueryType}. */
export type QueryType = typeof QueryType.Type

/** A non-fatal remark about a statement (e.g. a document above the size warning threshold). */
export const Warning = Schema.Struct({ description: Schema.String })
/** See {@link Warning}. */
export type Warning = typeof Warning.Type

/**
 * The result of one statement: the Ditto HTTP API v4 `QueryResponse` shape.
 * `transactionId` is the replica transaction the result reflects (pass it as
 * `txnId` to read your writes); `items` are the selected documents;
 * `mutatedDocumentIds` the `_id`s written by INSERT/UPDATE/DELETE.
 */
export const QueryResult = Schema.Struct({
  transactionId: Count,
  queryType: QueryType,
  items: Schema.Array(Json.JsonObject),
  mutatedDocumentIds: Schema.Array(Json.Json),
  warnings: Schema.Array(Warning),
  totalWarningsCount: Count
})
/** See {@link QueryResult}. */
export type QueryResult = typeof QueryResult.Type

/** Subscribe to a query: the current result first, then one result per change. */
export const ObserveRequest = Schema.Struct({
  appId: Schema.String,
  statement: Schema.String,
  args: Schema.optionalWith(Args, { exact: true })
})
/** See {@link ObserveRequest}. */
export type ObserveRequest = typeof ObserveRequest.Type

/** A request naming only an app. */
export const AppRequest = Schema.Struct({ appId: Schema.String })
/** See {@link AppRequest}. */
export type AppRequest = typeof AppRequest.Type

/** One peer of the presence graph. `networkId` is its random 32-bit mesh id. */
export const PeerInfo = Schema.Struct({
  siteId: SiteId.SiteId,
  networkId: Schema.Int.pipe(Schema.between(0, 0xffffffff)),
  deviceName: Schema.String
})
/** See {@link PeerInfo}. */
export type PeerInfo = typeof PeerInfo.Type

/** A live link between two peers (by site id) over one transport (`"websocket"`, `"lan"`, `"bluetooth-le"`, …). */
export const Connection = Schema.Struct({
  from: SiteId.SiteId,
  to: SiteId.SiteId,
  transport: Schema.String
})
/** See {@link Connection}. */
export type Connection = typeof Connection.Type

/** The peers an app's replica knows of, as seen from the answering peer (`localPeer`). */
export const PresenceGraph = Schema.Struct({
  localPeer: PeerInfo,
  remotePeers: Schema.Array(PeerInfo),
  connections: Schema.Array(Connection)
})
/** See {@link PresenceGraph}. */
export type PresenceGraph = typeof PresenceGraph.Type

/**
 * How an app authenticates peers: `offline-playground` (anyone, everything
 * allowed), `online-playground` (a shared app token), or
 * `online-with-authentication` (a provider webhook, then signed tokens).
 */
export const IdentityMode = Schema.Literal("offline-playground", "online-playground", "online-with-authentication")
/** See {@link IdentityMode}. */
export type IdentityMode = typeof IdentityMode.Type

/**
 * A valid app id: 1–128 characters of `A–Z a–z 0–9 _ -`, starting with a
 * letter or digit (it names a file and appears in URLs).
 */
export const isValidAppId = (appId: string): boolean => /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/.test(appId)

/**
 * Create an app (admin only). `authWebhookUrl` is required by
 * `online-with-authentication`. The server answers `InvalidRequest` for an
 * app id that is not {@link isValidAppId}, an existing app, or a missing URL.
 */
export const CreateAppRequest = Schema.Struct({
  appId: Schema.String,
  identityMode: IdentityMode,
  authWebhookUrl: Schema.optionalWith(Schema.String, { exact: true })
})
/** See {@link CreateAppRequest}. */
export type CreateAppRequest = typeof CreateAppRequest.Type

/** A created app. `playgroundToken` is set for `online-playground`, `authWebhookUrl` for `online-with-authentication`. */
export const AppInfo = Schema.Struct({
  appId: Schema.String,
  identityMode: IdentityMode,
  playgroundToken: Schema.optionalWith(Schema.String, { exact: true }),
  authWebhookUrl: Schema.optionalWith(Schema.String, { exact: true })
})
/** See {@link AppInfo}. */
export type AppInfo = typeof AppInfo.Type

/** Create an API key of an app with the given permissions (admin only). */
export const CreateApiKeyRequest = Schema.Struct({
  appId: Schema.String,
  name: Schema.String,
  permissions: Permissions.Permissions
})
/** See {@link CreateApiKeyRequest}. */
export type CreateApiKeyRequest = typeof CreateApiKeyRequest.Type

/**
 * A freshly created API key. `secret` is the complete bearer credential
 * (`shoal_<keyId>_<random>`, sent as `Authorization: Bearer <secret>`); it is
 * returned only this once; the server keeps only a salted hash of it.
 */
export const CreatedApiKey = Schema.Struct({
  keyId: Schema.String,
  secret: Schema.Redacted(Schema.String)
})
/** See {@link CreatedApiKey}. */
export type CreatedApiKey = typeof CreatedApiKey.Type

/** Read an app's op log: every op with `seq >= fromSeq` (default 0) in `seq` order, up to the last committed op. */
export const ReadOpLogRequest = Schema.Struct({
  appId: Schema.String,
  fromSeq: Schema.optionalWith(Count, { exact: true })
})
/** See {@link ReadOpLogRequest}. */
export type ReadOpLogRequest = typeof ReadOpLogRequest.Type

/** One entry of the op log (one committed transaction), as defined by `@shoal/core`. */
export const OpLogEntry = Op.Op
/** See {@link OpLogEntry}. */
export type OpLogEntry = Op.Op

/** The Big Peer operator: may create apps and API keys, and read every app. */
export const AdminPrincipal = Schema.Struct({ kind: Schema.Literal("admin") })
/** See {@link AdminPrincipal}. */
export type AdminPrincipal = typeof AdminPrincipal.Type

/** A user of one app (token, API key or playground), limited by `permissions`. */
export const AppPrincipal = Schema.Struct({
  kind: Schema.Literal("app"),
  appId: Schema.String,
  userId: Schema.String,
  permissions: Permissions.Permissions
})
/** See {@link AppPrincipal}. */
export type AppPrincipal = typeof AppPrincipal.Type

/** Who is calling: provided to RPC handlers by the auth middleware. */
export const Principal = Schema.Union(AdminPrincipal, AppPrincipal)
/** See {@link Principal}. */
export type Principal = typeof Principal.Type
