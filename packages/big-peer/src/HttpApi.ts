/**
 * The HTTP Data API (the shape of Ditto's HTTP API v4) and the auth routes.
 *
 * - `POST /{appId}/api/v4/store/execute` — body `{ statement, args? }`,
 *   `Authorization: Bearer <API key | signed token | playground token | admin key>`
 *   (no credential needed for `offline-playground` apps).
 * - `POST /api/v4/store/execute` — the same when the credential names the app
 *   (API key, signed token, playground token).
 *   Every answer is a `QueryResponse`: `{ transactionId, queryType, items,
 *   mutatedDocumentIds, warnings, totalWarningsCount }` plus
 *   `error: { description }` on failure. Statuses: 200, 400 (bad DQL, JSON,
 *   args, header), 401, 403, 404 (unknown app), 413 (body or document too
 *   large); 500 only for server faults. `X-Shoal-Txn-Id` / `X-DITTO-TXN-ID`
 *   runs the statement once the replica reached that transaction; the answer
 *   carries `X-Shoal-Txn-Id` with its own transaction id.
 * - `POST /{appId}/auth/login` — body `{ provider, token }`: asks the app's
 *   auth webhook, answers `{ token, userId, expiresAt, expirationSeconds,
 *   permissions, publicKey }` (online-with-authentication apps).
 * - `GET /{appId}/auth/public-key` — `{ appId, alg, publicKey }` (verify the app's tokens anywhere).
 * - `GET /health` — `{ status: "ok" }`.
 * - anything else: 404 `{ error: { description } }`.
 */
import * as HttpLayerRouter from "@effect/platform/HttpLayerRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Api, type Errors } from "@shoal/client"
import { Json } from "@shoal/core"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { AccessControl } from "./Access.js"
import { Apps } from "./Apps.js"
import { AppKeys } from "./auth/index.js"
import { BigPeerSettings } from "./Config.js"
import { bearer, errorHeaders, fromApiError, HttpFailure, jsonBody } from "./internal/Http.js"
import * as Query from "./Query.js"
import { Tenants } from "./Tenants.js"

/** Body of `execute`. */
export const ExecuteBody = Schema.Struct({
  statement: Schema.String,
  args: Schema.optionalWith(Json.JsonObjectInput, { exact: true })
})

/** Body of `auth/login`. */
export const LoginBody = Schema.Struct({
  provider: Schema.String,
  token: Schema.String
})

/** The HTTP answer of `execute`: `QueryResult` plus `error` when it failed. */
export interface QueryResponse extends Api.QueryResult {
  readonly error?: { readonly description: string }
}

/** A failed `execute` answer: `queryType: "unknown"`, empty arrays, and the error. */
export const failedQuery = (description: string): QueryResponse => ({
  transactionId: 0,
  queryType: "unknown",
  items: [],
  mutatedDocumentIds: [],
  warnings: [],
  totalWarningsCount: 0,
  error: { description }
})

const TXN_HEADERS = ["x-shoal-txn-id", "x-ditto-txn-id"] as const

/** The read-your-writes transaction id of the request, if it carries one. */
const txnHeader = Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
  for (const name of TXN_HEADERS) {
    const value = request.headers[name]
    if (value === undefined) continue
    return /^\d{1,15}$/.test(value.trim())
      ? Effect.succeed(Option.some(Number(value.trim())))
      : Effect.fail(new HttpFailure({ status: 400, description: `${name} must be a transaction id (a non-negative integer)` }))
  }
  return Effect.succeed(Option.none<number>())
})

const toFailure = (e: HttpFailure | Errors.ShoalError | Errors.InvalidRequest): HttpFailure =>
  e._tag === "HttpFailure" ? e : fromApiError(e)

/** Makes a handler total: typed failures are answered with `body(description)`, defects with 500. */
const answer = <R>(
  handler: Effect.Effect<HttpServerResponse.HttpServerResponse, HttpFailure | Errors.ShoalError, R>,
  body: (description: string) => unknown
): Effect.Effect<HttpServerResponse.HttpServerResponse, never, R> =>
  handler.pipe(
    Effect.catchAll((e) => {
      const failure = toFailure(e)
      return Effect.succeed(
        HttpServerResponse.unsafeJson(body(failure.description), {
          status: failure.status,
          headers: errorHeaders(failure.status)
        })
      )
    }),
    Effect.catchAllDefect((defect) =>
      Effect.as(
        Effect.logError("request failed", defect),
        HttpServerResponse.unsafeJson(body("internal server error"), { status: 500 })
      )
    )
  )

const errorOnly = (description: string) => ({ error: { description } })

const appParam = Effect.map(HttpLayerRouter.params, (params) => params["appId"] ?? "")

const runExecute = (appId: Option.Option<string>) =>
  Effect.gen(function*() {
    const control = yield* AccessControl
    const tenants = yield* Tenants
    const settings = yield* BigPeerSettings
    const credential = yield* bearer
    const { access, app } = Option.isSome(appId)
      ? yield* control.accessTo(appId.value, credential)
      : yield* Effect.gen(function*() {
        if (Option.isNone(credential)) {
          return yield* new HttpFailure({
            status: 401,
            description: "missing credential: send Authorization: Bearer <token or API key> (or use /{appId}/api/v4/store/execute)"
          })
        }
        const who = yield* control.authenticate(credential.value)
        if (who.principal.kind === "admin") {
          return yield* new HttpFailure({
            status: 400,
            description: "the admin key names no app: use /{appId}/api/v4/store/execute"
          })
        }
        return yield* control.accessFor(who.principal, who.principal.appId)
      })
    const body = yield* jsonBody(ExecuteBody, settings.maxBodyBytes)
    const txnId = yield* txnHeader
    const tenant = yield* tenants.get(app.appId)
    const result = yield* Query.execute(
      tenant,
      access,
      { statement: body.statement, args: body.args, txnId: Option.getOrUndefined(txnId) },
      { txnWait: settings.txnWait }
    )
    return HttpServerResponse.unsafeJson(result, { headers: { "x-shoal-txn-id": String(result.transactionId) } })
  })

const executeInApp = HttpLayerRouter.route(
  "POST",
  "/:appId/api/v4/store/execute",
  answer(Effect.flatMap(appParam, (appId) => runExecute(Option.some(appId))), failedQuery)
)

const executeByCredential = HttpLayerRouter.route(
  "POST",
  "/api/v4/store/execute",
  answer(runExecute(Option.none()), failedQuery)
)

const login = HttpLayerRouter.route(
  "POST",
  "/:appId/auth/login",
  answer(
    Effect.gen(function*() {
      const appId = yield* appParam
      const control = yield* AccessControl
      const settings = yield* BigPeerSettings
      const body = yield* jsonBody(LoginBody, Math.min(settings.maxBodyBytes, 64 * 1024))
      const result = yield* control.login(appId, body).pipe(
        Effect.catchTag("AuthProviderError", (e) =>
          Effect.fail(new HttpFailure({ status: 502, description: e.message })))
      )
      return HttpServerResponse.unsafeJson(result)
    }),
    errorOnly
  )
)

const publicKey = HttpLayerRouter.route(
  "GET",
  "/:appId/auth/public-key",
  answer(
    Effect.gen(function*() {
      const app = yield* Effect.flatMap(Apps, (apps) => Effect.flatMap(appParam, apps.get))
      return HttpServerResponse.unsafeJson({ appId: app.appId, alg: AppKeys.ALG, publicKey: app.keys.publicKey })
    }),
    errorOnly
  )
)

const health = HttpLayerRouter.route("GET", "/health", HttpServerResponse.unsafeJson({ status: "ok" }))

/** `*` routes lose to every other route: unknown paths get a JSON 404. */
const fallback = HttpLayerRouter.route(
  "*",
  "*",
  Effect.map(
    HttpServerRequest.HttpServerRequest,
    (request) => HttpServerResponse.unsafeJson(errorOnly(`no route for ${request.method} ${request.url}`), { status: 404 })
  )
)

/** The Data API and auth routes. */
export const routes = HttpLayerRouter.addAll([executeInApp, executeByCredential, login, publicKey, health])

/** The JSON 404 for everything else (add it last). */
export const fallbackRoute = HttpLayerRouter.addAll([fallback])
