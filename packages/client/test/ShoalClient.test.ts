import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as HttpLayerRouter from "@effect/platform/HttpLayerRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import * as RpcServer from "@effect/rpc/RpcServer"
import { describe, expect, it } from "@effect/vitest"
import { Document, Hlc, Json, Op, SiteId, Stamp } from "@shoal/core"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { createServer } from "node:http"
import { Api, Errors, Rpcs, ShoalClient } from "../src/index.js"

// ---------------------------------------------------------------------------------------------
// A tiny in-test Big Peer: ShoalRpcs over HTTP (ndjson) and WebSocket (msgpack) on one port.
// ---------------------------------------------------------------------------------------------

const everything = { everything: true, queriesByCollection: {} }
const principals: Record<string, Api.Principal> = {
  "tok-admin": { kind: "admin" },
  "tok-alice": { kind: "app", appId: "app-1", userId: "alice", permissions: { read: everything, write: everything } }
}

/** Lets tests observe server-side stream lifecycles. */
class Probe extends Context.Tag("test/Probe")<Probe, {
  readonly finalized: Ref.Ref<ReadonlyArray<string>> // statements whose Observe stream ended
}>() {
  static readonly layer = Layer.effect(Probe, Effect.map(Ref.make<ReadonlyArray<string>>([]), (finalized) => ({ finalized })))
}

const site = SiteId.unsafeFromString("00000000000000a1")
const ops: ReadonlyArray<Op.Op> = [0, 1, 2].map((seq) => {
  const hlc = Hlc.encode(1_700_000_000_000 + seq, 0)
  const id: Json.Json = `task-${seq}`
  return {
    seq,
    txnId: Op.txnId(site, seq),
    siteId: site,
    hlc,
    origin: "local",
    changes: [{
      collection: "tasks",
      id: Json.canonical(id),
      delta: Document.fromJson({ _id: id, title: `Task ${seq}`, done: seq % 2 === 0 }, Stamp.make(hlc, site))
    }]
  }
})

const result = (
  transactionId: number,
  items: ReadonlyArray<Json.JsonObject>,
  queryType: Api.QueryType = "select"
): Api.QueryResult => ({
  transactionId,
  queryType,
  items,
  mutatedDocumentIds: [],
  warnings: [],
  totalWarningsCount: 0
})

const AuthLive = Layer.succeed(
  Rpcs.AuthMiddleware,
  Rpcs.AuthMiddleware.of(({ headers }) => {
    const token = /^Bearer\s+(\S+)$/i.exec(headers["authorization"] ?? "")?.[1]
    const principal = token === undefined ? undefined : principals[token]
    return principal === undefined
      ? Effect.fail(new Errors.Unauthorized({ message: "invalid or missing bearer token" }))
      : Effect.succeed(principal)
  })
)

const checkApp = (appId: string) =>
  Effect.gen(function*() {
    const principal = yield* Rpcs.CurrentPrincipal
    if (principal.kind === "app" && principal.appId !== appId) {
      return yield* new Errors.Forbidden({ message: `not allowed on app ${appId}` })
    }
    if (appId !== "app-1") return yield* new Errors.AppNotFound({ appId })
    return principal
  })

const adminOnly = Effect.flatMap(
  Rpcs.CurrentPrincipal,
  (p) => p.kind === "admin" ? Effect.void : new Errors.Forbidden({ message: "admin only" })
)

const HandlersLive = Rpcs.ShoalRpcs.toLayer(Effect.gen(function*() {
  const probe = yield* Probe
  return {
    Execute: (req) =>
      Effect.gen(function*() {
        const principal = yield* checkApp(req.appId)
        if (req.statement.startsWith("SELEC ")) {
          return yield* new Errors.DqlError({ message: "unknown statement 'SELEC' at line 1, column 1", line: 1, column: 1 })
        }
        const user = principal.kind === "app" ? principal.userId : "admin"
        return result(req.txnId ?? 41, [{ _id: "a", statement: req.statement, user, args: req.args ?? null }])
      }),
    Observe: (req) =>
      Stream.unwrap(Effect.map(checkApp(req.appId), () =>
        // The current result first, then one result per "change" (every 20 ms here).
        Stream.fromSchedule(Schedule.spaced("20 millis")).pipe(
          Stream.map((n) => n + 1),
          Stream.prepend(Chunk.of(0)),
          Stream.map((n) => result(n, [{ _id: "a", n }])),
          Stream.ensuring(Ref.update(probe.finalized, (done) => [...done, req.statement]))
        ))),
    Presence: (req) =>
      Effect.as(checkApp(req.appId), {
        localPeer: { siteId: site, networkId: 1, deviceName: "big-peer" },
        remotePeers: [{ siteId: SiteId.unsafeFromString("00000000000000b2"), networkId: 2, deviceName: "phone" }],
        connections: [{ from: site, to: SiteId.unsafeFromString("00000000000000b2"), transport: "websocket" }]
      }),
    CreateApp: (req) =>
      !Api.isValidAppId(req.appId)
        ? new Errors.InvalidRequest({ message: `invalid app id ${JSON.stringify(req.appId)}` })
        : Effect.as(adminOnly, {
        appId: req.appId,
        identityMode: req.identityMode,
        ...(req.identityMode === "online-playground" ? { playgroundToken: "play-123" } : {}),
        ...(req.authWebhookUrl !== undefined ? { authWebhookUrl: req.authWebhookUrl } : {})
      }),
    CreateApiKey: (req) =>
      adminOnly.pipe(
        Effect.zipRight(checkApp(req.appId)),
        Effect.as({ keyId: "k1", secret: Redacted.make(`shoal_k1_secret-for-${req.name}`) })
      ),
    ReadOpLog: (req) =>
      Stream.unwrap(Effect.map(checkApp(req.appId), () =>
        Stream.fromIterable(ops).pipe(Stream.filter((op) => op.seq >= (req.fromSeq ?? 0)))))
  }
}))

const RpcRoutes = Layer.mergeAll(
  RpcServer.layerHttpRouter({ group: Rpcs.ShoalRpcs, path: Rpcs.RPC_PATH, protocol: "http" }).pipe(
    Layer.provide(ShoalClient.serializationHttp)
  ),
  RpcServer.layerHttpRouter({ group: Rpcs.ShoalRpcs, path: Rpcs.RPC_PATH, protocol: "websocket" }).pipe(
    Layer.provide(ShoalClient.serializationWebSocket)
  )
).pipe(Layer.provide(HandlersLive))

const ServerLive = HttpLayerRouter.serve(RpcRoutes, { disableLogger: true, disableListenLog: true }).pipe(
  Layer.provide(AuthLive),
  Layer.provideMerge(Probe.layer),
  Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" }))
)

/** Starts the server in the test's scope; returns its /rpc URL and the probe. */
const startServer = Effect.gen(function*() {
  const ctx = yield* Layer.build(ServerLive)
  const url = yield* HttpServer.addressWith((a) =>
    Effect.succeed(a._tag === "TcpAddress" ? `http://${a.hostname}:${a.port}${Rpcs.RPC_PATH}` : "")
  ).pipe(Effect.provide(ctx))
  return { url, probe: Context.get(ctx, Probe) }
})

type Protocol = "http" | "ws"

/** Builds a client into the test's scope (Effect.provide would close it when that effect ends). */
const connect = (protocol: Protocol, url: string, token = "tok-alice") =>
  Effect.map(
    Layer.build(
      protocol === "ws"
        ? ShoalClient.layerWebSocket({ url: ShoalClient.toWebSocketUrl(url), token })
        : ShoalClient.layerHttp({ url, token })
    ),
    (ctx) => Context.get(ctx, ShoalClient.ShoalClient)
  )

const waitFor = <A>(get: Effect.Effect<A>, ok: (a: A) => boolean) =>
  get.pipe(
    Effect.filterOrFail(ok, () => "not yet"),
    Effect.retry(Schedule.spaced("10 millis")),
    Effect.timeout("5 seconds")
  )

describe("ShoalClient", () => {
  for (const protocol of ["http", "ws"] as const) {
    it.scopedLive(`${protocol}: Execute round trip (principal from the auth middleware, args, txnId)`, () =>
      Effect.gen(function*() {
        const { url } = yield* startServer
        const client = yield* connect(protocol, url)
        const r = yield* client.Execute({
          appId: "app-1",
          statement: "SELECT * FROM tasks WHERE owner = :owner",
          args: { owner: "alice", nested: { list: [1, "two", null] } },
          txnId: 7
        })
        expect(r).toEqual(result(7, [{
          _id: "a",
          statement: "SELECT * FROM tasks WHERE owner = :owner",
          user: "alice",
          args: { owner: "alice", nested: { list: [1, "two", null] } }
        }]))
      }))

    it.scopedLive(`${protocol}: typed errors cross the wire and are caught by tag`, () =>
      Effect.gen(function*() {
        const { url } = yield* startServer
        const client = yield* connect(protocol, url)
        const err = yield* Effect.flip(client.Execute({ appId: "app-1", statement: "SELEC * FROM tasks" }))
        expect(err).toBeInstanceOf(Errors.DqlError)
        expect(err).toMatchObject({ _tag: "DqlError", line: 1, column: 1 })

        const caught = yield* client.Execute({ appId: "app-1", statement: "SELEC x" }).pipe(
          Effect.map(() => "no error"),
          Effect.catchTag("DqlError", (e) => Effect.succeed(`DqlError: ${e.message}`))
        )
        expect(caught).toBe("DqlError: unknown statement 'SELEC' at line 1, column 1")

        const missing = yield* Effect.flip(client.Execute({ appId: "nope", statement: "SELECT * FROM t" }))
        expect(missing).toBeInstanceOf(Errors.Forbidden)
        const admin = yield* connect(protocol, url, "tok-admin")
        const notFound = yield* Effect.flip(admin.Execute({ appId: "nope", statement: "SELECT * FROM t" }))
        expect(notFound).toBeInstanceOf(Errors.AppNotFound)
        expect(notFound.message).toBe(`app "nope" not found`)
      }))

    it.scopedLive(`${protocol}: a bad credential fails with the middleware's typed Unauthorized`, () =>
      Effect.gen(function*() {
        const { url } = yield* startServer
        const client = yield* connect(protocol, url, "wrong")
        const r = yield* client.Execute({ appId: "app-1", statement: "SELECT * FROM tasks" }).pipe(
          Effect.map(() => "no error"),
          Effect.catchTag("Unauthorized", (e) => Effect.succeed(`Unauthorized: ${e.message}`))
        )
        expect(r).toBe("Unauthorized: invalid or missing bearer token")
      }))

    it.scopedLive(`${protocol}: ReadOpLog streams Ops decoded with the core schema`, () =>
      Effect.gen(function*() {
        const { url } = yield* startServer
        const client = yield* connect(protocol, url)
        const all = Chunk.toReadonlyArray(yield* Stream.runCollect(client.ReadOpLog({ appId: "app-1" })))
        expect(all).toEqual(ops)
        expect(all.every(Schema.is(Op.Op))).toBe(true)
        const tail = Chunk.toReadonlyArray(yield* Stream.runCollect(client.ReadOpLog({ appId: "app-1", fromSeq: 2 })))
        expect(tail.map((op) => op.seq)).toEqual([2])
      }))

    it.scopedLive(`${protocol}: Observe yields the current result first, then one per change`, () =>
      Effect.gen(function*() {
        const { url } = yield* startServer
        const client = yield* connect(protocol, url)
        const results = yield* client.Observe({ appId: "app-1", statement: "SELECT * FROM tasks" }).pipe(
          Stream.take(3),
          Stream.runCollect
        )
        expect(Chunk.toReadonlyArray(results).map((r) => r.transactionId)).toEqual([0, 1, 2])
      }))

    it.scopedLive(`${protocol}: admin rpcs (CreateApp, CreateApiKey) and Presence`, () =>
      Effect.gen(function*() {
        const { url } = yield* startServer
        const alice = yield* connect(protocol, url)
        const admin = yield* connect(protocol, url, "tok-admin")

        const denied = yield* Effect.flip(alice.CreateApp({ appId: "app-2", identityMode: "offline-playground" }))
        expect(denied).toBeInstanceOf(Errors.Forbidden)
        expect(yield* admin.CreateApp({ appId: "app-2", identityMode: "online-playground" })).toEqual({
          appId: "app-2",
          identityMode: "online-playground",
          playgroundToken: "play-123"
        })
        const invalid = yield* Effect.flip(admin.CreateApp({ appId: "bad app id!", identityMode: "offline-playground" }))
        expect(invalid).toBeInstanceOf(Errors.InvalidRequest)
        expect(invalid.message).toBe(`invalid app id "bad app id!"`)

        const key = yield* admin.CreateApiKey({
          appId: "app-1",
          name: "ci",
          permissions: { read: everything, write: { everything: false, queriesByCollection: { tasks: ["owner = 'ci'"] } } }
        })
        expect(key.keyId).toBe("k1")
        expect(String(key.secret)).not.toContain("shoal_") // redacted when printed
        expect(Redacted.value(key.secret)).toBe("shoal_k1_secret-for-ci")

        const graph = yield* alice.Presence({ appId: "app-1" })
        expect(graph.localPeer.deviceName).toBe("big-peer")
        expect(graph.connections).toEqual([{ from: site, to: "00000000000000b2", transport: "websocket" }])
      }))
  }

  it.scopedLive("ws: interrupting an Observe stream on the client runs the server stream's finalizer", () =>
    Effect.gen(function*() {
      const { probe, url } = yield* startServer
      const client = yield* connect("ws", url)
      const seen = yield* Ref.make(0)
      const consumer = yield* client.Observe({ appId: "app-1", statement: "SELECT * FROM interrupt_me" }).pipe(
        Stream.runForEach(() => Ref.update(seen, (n) => n + 1)),
        Effect.fork
      )
      yield* waitFor(Ref.get(seen), (n) => n >= 3)
      expect(yield* Ref.get(probe.finalized)).not.toContain("SELECT * FROM interrupt_me") // still running
      yield* Fiber.interrupt(consumer)
      // The client sends an Interrupt message; the server interrupts the handler's stream.
      yield* waitFor(Ref.get(probe.finalized), (done) => done.includes("SELECT * FROM interrupt_me"))
    }))

  it("toWebSocketUrl maps http(s) to ws(s)", () => {
    expect(ShoalClient.toWebSocketUrl("http://h:1/rpc")).toBe("ws://h:1/rpc")
    expect(ShoalClient.toWebSocketUrl("https://h/rpc")).toBe("wss://h/rpc")
    expect(ShoalClient.toWebSocketUrl("ws://h/rpc")).toBe("ws://h/rpc")
  })

  it("errors have clear messages and HTTP statuses", () => {
    const tooLarge = new Errors.DocumentTooLarge({ bytes: 6_000_000, limit: 5_242_880 })
    expect(tooLarge.message).toBe("document too large: 6000000 bytes (limit 5242880 bytes)")
    expect(Errors.httpStatus(tooLarge)).toBe(413)
    expect(Errors.httpStatus(new Errors.Unauthorized({ message: "x" }))).toBe(401)
    expect(Errors.httpStatus(new Errors.DqlError({ message: "x" }))).toBe(400)
  })
})
