/**
 * `GET /sync/{appId}` (WebSocket): small peers connect here and speak the
 * peer protocol with the app's replica. The app must exist (404 before the
 * upgrade otherwise); authentication happens in the protocol's `Hello`
 * (its `token`: signed token, playground token or API key), checked by the
 * app's `LinkAuth` — a refusal is a `Reject{reason}` frame (e.g.
 * `"token expired"`), then the socket closes.
 */
import * as HttpLayerRouter from "@effect/platform/HttpLayerRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { Apps } from "./Apps.js"
import { fromSocket } from "./internal/SocketConnection.js"
import { Tenants } from "./Tenants.js"

const errorJson = (status: number, description: string) =>
  HttpServerResponse.unsafeJson({ error: { description } }, { status })

const sync = HttpLayerRouter.route(
  "GET",
  "/sync/:appId",
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const appId = (yield* HttpLayerRouter.params)["appId"] ?? ""
    const apps = yield* Apps
    if (Option.isNone(yield* apps.find(appId))) return errorJson(404, `app ${JSON.stringify(appId)} not found`)
    if ((request.headers["upgrade"] ?? "").toLowerCase() !== "websocket") {
      return errorJson(426, "this endpoint speaks the Shoal sync protocol over WebSocket")
    }
    const tenant = yield* Effect.flatMap(Tenants, (tenants) => tenants.get(appId)).pipe(Effect.orDie)
    const upgraded = yield* Effect.either(request.upgrade)
    if (upgraded._tag === "Left") return errorJson(400, `WebSocket upgrade failed: ${upgraded.left.message}`)
    const socket = upgraded.right
    const remote = `${Option.getOrElse(request.remoteAddress, () => "unknown")} (${appId})`
    yield* Effect.scoped(Effect.flatMap(fromSocket(socket, remote), (connection) => tenant.sync.serve(connection))).pipe(
      Effect.catchAll((e) => Effect.logInfo(`sync link from ${remote} ended: ${e.message}`)),
      Effect.catchAllDefect((d) => Effect.logError(`sync link from ${remote} crashed`, d))
    )
    return HttpServerResponse.empty() // not sent: the socket was upgraded
  })
)

/** The sync route. */
export const routes = HttpLayerRouter.addAll([sync])
