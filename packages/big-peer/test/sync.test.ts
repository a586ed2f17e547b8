// Small Peers syncing with a real Big Peer over WebSocket (/sync/:appId).
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as PeerAuth from "../src/PeerAuth.js"
import {
  dial,
  eventually,
  execute,
  handshake,
  idsOn,
  pipe,
  presenting,
  request,
  rpcClient,
  smallPeer,
  startBigPeer,
  wsUrl
} from "./util/harness.js"

describe("sync endpoint", () => {
  it.scopedLive("a Small Peer syncs both ways with the Big Peer; HTTP and RPC see its writes", () =>
    Effect.gen(function*() {
      const { apps, url } = yield* startBigPeer()
      const app = yield* apps.ensure({ appId: "field", identityMode: "online-playground" })
      const token = Redacted.value(Option.getOrThrow(app.playgroundToken))
      const phone = yield* smallPeer({
        appId: "field",
        name: "phone",
        connect: [wsUrl(url, "field")],
        auth: PeerAuth.playground(token),
        subscriptions: ["SELECT * FROM reports"]
      })

      // Small Peer → Big Peer → HTTP API
      yield* phone.peer.execute("INSERT INTO reports DOCUMENTS (:r)", { r: { _id: "r1", text: "from the field" } })
      yield* eventually(Effect.flatMap(
        execute(url, "/field/api/v4/store/execute", token, { statement: "SELECT * FROM reports" }),
        (r) => (r.items.length === 1 ? Effect.succeed(r.items) : Effect.fail("not yet"))
      ))
      // HTTP API → Big Peer → Small Peer
      yield* execute(url, "/field/api/v4/store/execute", token, {
        statement: "INSERT INTO reports DOCUMENTS (:r)",
        args: { r: { _id: "r2", text: "from the office" } }
      })
      yield* eventually(Effect.flatMap(idsOn(phone, "SELECT * FROM reports"), (ids) =>
        ids.join() === "r1,r2" ? Effect.void : Effect.fail(ids)))
      // Concurrent edits merge on both sides.
      yield* phone.peer.execute("UPDATE reports SET status = 'read' WHERE _id = 'r2'")
      yield* execute(url, "/field/api/v4/store/execute", token, { statement: "UPDATE reports SET priority = 1 WHERE _id = 'r2'" })
      const merged = { _id: "r2", text: "from the office", status: "read", priority: 1 }
      yield* eventually(Effect.flatMap(phone.peer.execute("SELECT * FROM reports WHERE _id = 'r2'"), (r) =>
        JSON.stringify(r.items[0]) === JSON.stringify(merged) ? Effect.void : Effect.fail(r.items)))
      const rpc = yield* rpcClient(url, token, "websocket")
      yield* eventually(Effect.flatMap(rpc.Execute({ appId: "field", statement: "SELECT * FROM reports WHERE _id = 'r2'" }), (r) =>
        JSON.stringify(r.items[0]) === JSON.stringify(merged) ? Effect.void : Effect.fail(r.items)))
      // Presence through RPC shows the phone.
      const presence = yield* rpc.Presence({ appId: "field" })
      expect(presence.remotePeers.map((p) => p.deviceName)).toEqual(["phone"])
    }))

  it.scopedLive("a Small Peer bridges the Big Peer and a peer that never reaches it", () =>
    Effect.gen(function*() {
      const { apps, url } = yield* startBigPeer()
      const app = yield* apps.ensure({ appId: "bridge", identityMode: "online-playground" })
      const token = Redacted.value(Option.getOrThrow(app.playgroundToken))
      const auth = PeerAuth.playground(token)
      // `gateway` links to the Big Peer and to `offline` (an in-process link: no server involved).
      const gateway = yield* smallPeer({ appId: "bridge", name: "gateway", connect: [wsUrl(url, "bridge")], auth })
      const offline = yield* smallPeer({ appId: "bridge", name: "offline", connect: [], auth, subscriptions: ["SELECT * FROM logs"] })
      const [a, b] = yield* pipe
      yield* gateway.sync.accept(a)
      yield* offline.sync.accept(b)

      // offline → gateway → Big Peer (the gateway holds it: it relays the Big Peer's subscription)
      yield* offline.peer.execute("INSERT INTO logs DOCUMENTS ({'_id': 'from-offline'})")
      yield* eventually(Effect.flatMap(
        execute(url, "/bridge/api/v4/store/execute", token, { statement: "SELECT * FROM logs" }),
        (r) => (r.items.length === 1 ? Effect.void : Effect.fail(r.items))
      ))
      // Big Peer → gateway → offline (the gateway relays offline's subscription upstream)
      yield* execute(url, "/bridge/api/v4/store/execute", token, { statement: "INSERT INTO logs DOCUMENTS ({'_id': 'from-server'})" })
      yield* eventually(Effect.flatMap(idsOn(offline, "SELECT * FROM logs"), (ids) =>
        ids.join() === "from-offline,from-server" ? Effect.void : Effect.fail(ids)))
    }))

  it.scopedLive("bad tokens are rejected in the handshake; unknown apps are 404 before the upgrade; other apps' peers get nothing", () =>
    Effect.gen(function*() {
      const { apps, url } = yield* startBigPeer()
      const a = yield* apps.ensure({ appId: "app-a", identityMode: "online-playground" })
      const b = yield* apps.ensure({ appId: "app-b", identityMode: "online-playground" })
      const tokenA = Redacted.value(Option.getOrThrow(a.playgroundToken))
      const tokenB = Redacted.value(Option.getOrThrow(b.playgroundToken))
      yield* execute(url, "/app-a/api/v4/store/execute", tokenA, { statement: "INSERT INTO s DOCUMENTS ({'_id': 'secret'})" })

      expect(yield* handshake(wsUrl(url, "app-a"), "app-a", presenting("wrong"))).toBe("invalid credential")
      expect(yield* handshake(wsUrl(url, "app-a"), "app-a", presenting(undefined))).toBe("missing token")
      // App B's token on app A's endpoint: refused.
      expect(yield* handshake(wsUrl(url, "app-a"), "app-a", presenting(tokenB))).toBe("invalid credential")
      // A peer of app B dialing app A's endpoint: a different app.
      expect(yield* handshake(wsUrl(url, "app-a"), "app-b", PeerAuth.playground(tokenB))).toMatch(/different app$/)
      // The small peer checks the Big Peer too: it must know the shared token.
      expect(yield* handshake(wsUrl(url, "app-a"), "app-a", PeerAuth.playground("wrong"))).toMatch(/invalid/)
      // The right token works.
      expect(yield* handshake(wsUrl(url, "app-a"), "app-a", PeerAuth.playground(tokenA))).toBe("ok")

      const unknown = yield* Effect.either(Effect.scoped(dial(wsUrl(url, "ghost"))))
      expect(Either.isLeft(unknown) && unknown.left.reason).toMatch(/Unexpected server response: 404/)
      const plain = yield* request(`${url}/sync/app-a`)
      expect(plain.status).toBe(426)
      const plainUnknown = yield* request(`${url}/sync/ghost`)
      expect(plainUnknown.status).toBe(404)

      // A small peer of app B with a subscription to everything never sees app A's data.
      const spy = yield* smallPeer({
        appId: "app-b",
        name: "spy",
        connect: [wsUrl(url, "app-b")],
        auth: PeerAuth.playground(tokenB),
        subscriptions: ["SELECT * FROM s"]
      })
      yield* execute(url, "/app-b/api/v4/store/execute", tokenB, { statement: "INSERT INTO s DOCUMENTS ({'_id': 'b-doc'})" })
      yield* eventually(Effect.flatMap(idsOn(spy, "SELECT * FROM s"), (ids) => ids.length > 0 ? Effect.void : Effect.fail("no")))
      yield* Effect.sleep("300 millis")
      expect(yield* idsOn(spy, "SELECT * FROM s")).toEqual(["b-doc"])

      // The server kept serving through all of it.
      const still = yield* execute(url, "/app-a/api/v4/store/execute", tokenA, { statement: "SELECT * FROM s" })
      expect(still.items).toEqual([{ _id: "secret" }])
    }))
})
