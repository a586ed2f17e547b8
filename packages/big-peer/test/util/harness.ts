// Test harness: a real Big Peer on 127.0.0.1:0 in a temp data dir, fetch helpers, small peers
// dialing its /sync endpoint over real WebSockets.
import * as HttpServer from "@effect/platform/HttpServer"
import { type Api, ShoalClient } from "@shoal/client"
import { Transport } from "@shoal/core"
import { Link, SmallPeer, type SmallPeerShape, Sync } from "@shoal/peer"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Apps } from "../../src/Apps.js"
import * as BigPeer from "../../src/BigPeer.js"
import * as Config from "../../src/Config.js"
import { WebSocketTransport } from "@shoal/transport-websocket"

export const ADMIN_KEY = "test-admin-key-0123456789"

/** A temp directory removed with the scope. */
export const tempDir = (prefix: string) =>
  Effect.acquireRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), prefix))),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  )

/** A Big Peer in this process, for the current scope. */
export const startBigPeer = (overrides: Partial<Config.BigPeerConfig> = {}) =>
  Effect.gen(function*() {
    const dataDir = yield* tempDir("shoal-bp-")
    const config = Config.make({ port: 0, dataDir, adminKey: Option.some(Redacted.make(ADMIN_KEY)), ...overrides })
    const context = yield* Layer.build(
      BigPeer.layer(config).pipe(Layer.provide(Logger.minimumLogLevel(LogLevel.Warning)))
    )
    const url = yield* Effect.provide(BigPeer.url, Context.pick(HttpServer.HttpServer)(context))
    return { url, apps: Context.get(context, Apps), dataDir, config }
  })

export interface HttpAnswer {
  readonly status: number
  readonly headers: Headers
  readonly body: Record<string, unknown>
  readonly text: string
  /** `body.items` when it is an array of objects. */
  readonly items: ReadonlyArray<Record<string, unknown>>
  /** `body.error.description`, if any. */
  readonly error: string | undefined
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** One HTTP request with fetch; the body is parsed as JSON when it is. */
export const request = (url: string, init: RequestInit = {}) =>
  Effect.promise(async (): Promise<HttpAnswer> => {
    const res = await fetch(url, init)
    const text = await res.text()
    let body: Record<string, unknown> = {}
    try {
      const parsed: unknown = JSON.parse(text)
      if (isRecord(parsed)) body = parsed
    } catch {
      // not JSON
    }
    const items = Array.isArray(body["items"]) ? body["items"].filter(isRecord) : []
    const error = isRecord(body["error"]) && typeof body["error"]["description"] === "string"
      ? body["error"]["description"]
      : undefined
    return { status: res.status, headers: res.headers, body, text, items, error }
  })

/** POST a Data API statement. */
export const execute = (
  base: string,
  path: string,
  credential: string | undefined,
  payload: unknown,
  headers: Record<string, string> = {}
) =>
  request(`${base}${path}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(credential === undefined ? {} : { authorization: `Bearer ${credential}` }),
      ...headers
    },
    body: typeof payload === "string" ? payload : JSON.stringify(payload)
  })

/** Retries `check` every 25 ms for up to 10 s (sync is asynchronous). */
export const eventually = <A, E, R>(check: Effect.Effect<A, E, R>, timeout = "10 seconds" as const) =>
  check.pipe(Effect.retry(Schedule.spaced("25 millis").pipe(Schedule.upTo(timeout))))

/** The WebSocket transport of `@shoal/transport-websocket`, dial only (what a small peer uses). */
export const wsDialer: Layer.Layer<Transport.Transport> = WebSocketTransport.layer({}).pipe(Layer.orDie)

/** Dials one connection with the WebSocket transport. */
export const dial = (url: string) =>
  Effect.flatMap(WebSocketTransport.make({}), ({ transport }) => transport.dial(url))

export interface TestPeer {
  readonly peer: SmallPeerShape
  readonly sync: Sync.SyncShape
}

/** A Small Peer (in-memory replica) with a Sync linked to `connect` URLs, built into the current scope. */
export const smallPeer = (options: {
  readonly appId: string
  readonly name: string
  readonly connect: ReadonlyArray<string>
  readonly auth?: Link.LinkAuth
  readonly subscriptions?: ReadonlyArray<string>
}) =>
  Effect.gen(function*() {
    const layer = Sync.Sync.layer({
      appId: options.appId,
      deviceName: options.name,
      listen: false,
      connect: options.connect,
      retryIntervalMs: 100,
      ...(options.auth === undefined ? {} : { auth: options.auth })
    }).pipe(
      Layer.provideMerge(SmallPeer.layer({ appId: options.appId, persistenceDir: "memory" })),
      Layer.provide(wsDialer)
    )
    const context = yield* Layer.build(layer)
    const sync = Context.get(context, Sync.Sync)
    for (const q of options.subscriptions ?? []) yield* sync.registerSubscription(q)
    return { peer: Context.get(context, SmallPeer), sync } satisfies TestPeer
  })

/** Item ids of a SELECT on a small peer, sorted. */
export const idsOn = (p: TestPeer, statement: string) =>
  Effect.map(p.peer.execute(statement), (r) => r.items.map((d) => String(d._id)).sort())

/** A typed RPC client (HTTP or WebSocket), built into the current scope. */
export const rpcClient = (base: string, token: string, protocol: "http" | "websocket") =>
  Effect.map(
    Layer.build(
      protocol === "http"
        ? ShoalClient.layerHttp({ url: `${base}/rpc`, token })
        : ShoalClient.layerWebSocket({ url: `${base}/rpc`, token })
    ),
    (context) => Context.get(context, ShoalClient.ShoalClient)
  )

export const everything = { everything: true, queriesByCollection: {} } as const
export const nothing = { everything: false, queriesByCollection: {} } as const

export type Permissions = Api.CreateApiKeyRequest["permissions"]

/** Presents `token` and admits the Big Peer whatever it presents (to see the Big Peer's verdict alone). */
export const presenting = (token: string | undefined): Link.LinkAuth => ({
  token: Effect.succeed(token),
  admit: () => Effect.succeed(Link.allowAll)
})

export const wsUrl = (httpUrl: string, appId: string) => `${httpUrl.replace(/^http/, "ws")}/sync/${appId}`

/** Runs one link by hand over a fresh connection: the handshake outcome (`ok` or the reject reason). */
export const handshake = (
  url: string,
  appId: string,
  auth: Link.LinkAuth,
  options: { readonly untilEnd?: boolean } = {}
) =>
  Effect.scoped(Effect.gen(function*() {
    const context = yield* Layer.build(
      Sync.Sync.layer({ appId, listen: false, auth, link: { handshakeTimeout: "5 seconds" } }).pipe(
        Layer.provideMerge(SmallPeer.layer({ appId, persistenceDir: "memory" })),
        Layer.provide(wsDialer)
      )
    )
    const sync = Context.get(context, Sync.Sync)
    const connection = yield* dial(url)
    // A link that is up runs until closed: admitted once this side registered it.
    const linked = Effect.repeat(sync.linkCount, {
      schedule: Schedule.spaced("10 millis"),
      until: (n) => n === 1
    }).pipe(Effect.as("ok" as const))
    const served = sync.serve(connection).pipe(Effect.as("ended" as const))
    const outcome = yield* Effect.either(
      options.untilEnd === true ? served.pipe(Effect.timeout("30 seconds")) : Effect.raceFirst(served, linked)
    )
    if (Either.isRight(outcome)) return outcome.right
    const e = outcome.left
    return e._tag === "LinkRejected" ? `${e.byRemote ? "" : "(by us) "}${e.reason}` : `${e._tag}: ${"reason" in e ? e.reason : ""}`
  }))


let pipeCount = 0

/** Two in-process Connections joined by bounded queues (a link between two small peers without a server). */
export const pipe = Effect.gen(function*() {
  const aToB = yield* Queue.bounded<Uint8Array>(64)
  const bToA = yield* Queue.bounded<Uint8Array>(64)
  const closed = yield* Deferred.make<void>()
  const end = (name: string, out: Queue.Queue<Uint8Array>, inc: Queue.Queue<Uint8Array>): Transport.Connection => ({
    id: `pipe-${name}-${pipeCount++}`,
    remoteAddress: name,
    send: (frame) =>
      Effect.flatMap(Deferred.isDone(closed), (done) =>
        done
          ? Effect.fail(new Transport.TransportError({ address: name, reason: "closed" }))
          : Effect.asVoid(Queue.offer(out, frame))),
    incoming: Stream.fromQueue(inc).pipe(Stream.interruptWhen(Deferred.await(closed))),
    close: () => Effect.asVoid(Deferred.succeed(closed, undefined)),
    closed: Deferred.await(closed)
  })
  return [end("b", aToB, bToA), end("a", bToA, aToB)] as const
})
