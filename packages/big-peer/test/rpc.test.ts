// The RPC API (ShoalRpcs from @shoal/client) against a real Big Peer, over WebSocket and HTTP.
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { ADMIN_KEY, everything, execute, request, rpcClient, startBigPeer } from "./util/harness.js"

const protocols = ["websocket", "http"] as const

describe.each(protocols)("RPC over %s", (protocol) => {
  it.scopedLive("admin creates apps and API keys; Execute, Observe, ReadOpLog, Presence work with them", () =>
    Effect.gen(function*() {
      const { url } = yield* startBigPeer()
      const admin = yield* rpcClient(url, ADMIN_KEY, protocol)

      const app = yield* admin.CreateApp({ appId: "notes", identityMode: "online-playground" })
      expect(app.appId).toBe("notes")
      expect(app.playgroundToken).toMatch(/^[A-Za-z0-9_-]{43}$/)
      const again = yield* Effect.flip(admin.CreateApp({ appId: "notes", identityMode: "online-playground" }))
      expect(again._tag).toBe("InvalidRequest")
      const badId = yield* Effect.flip(admin.CreateApp({ appId: "../etc", identityMode: "offline-playground" }))
      expect(badId._tag).toBe("InvalidRequest")
      const noHook = yield* Effect.flip(admin.CreateApp({ appId: "hooked", identityMode: "online-with-authentication" }))
      expect(noHook._tag).toBe("InvalidRequest")
      const badPerms = yield* Effect.flip(admin.CreateApiKey({
        appId: "notes",
        name: "broken",
        permissions: { read: { everything: false, queriesByCollection: { n: ["owner ="] } }, write: everything }
      }))
      expect(badPerms._tag).toBe("InvalidRequest")
      const missingApp = yield* Effect.flip(admin.CreateApiKey({ appId: "ghost", name: "k", permissions: { read: everything, write: everything } }))
      expect(missingApp._tag).toBe("AppNotFound")

      const key = yield* admin.CreateApiKey({ appId: "notes", name: "service", permissions: { read: everything, write: everything } })
      const secret = Redacted.value(key.secret)
      expect(secret.startsWith(`shoal_${key.keyId}_`)).toBe(true)
      const client = yield* rpcClient(url, secret, protocol)

      // Observe first (WebSocket streams stay open; HTTP streams too, ndjson framed).
      const seen = yield* client.Observe({ appId: "notes", statement: "SELECT * FROM n ORDER BY _id" }).pipe(
        Stream.map((r) => r.items.map((d) => d._id)),
        Stream.take(3),
        Stream.runCollect,
        Effect.fork
      )
      yield* Effect.sleep("200 millis")
      const w1 = yield* client.Execute({ appId: "notes", statement: "INSERT INTO n DOCUMENTS ({'_id': 'a', 'text': 'hi'})" })
      expect(w1).toMatchObject({ queryType: "insert", mutatedDocumentIds: ["a"], warnings: [], totalWarningsCount: 0 })
      yield* Effect.sleep("100 millis")
      yield* client.Execute({ appId: "notes", statement: "INSERT INTO n DOCUMENTS (:d)", args: { d: { _id: "b" } } })
      const observed = yield* Fiber.join(seen)
      expect(Chunk.toReadonlyArray(observed)).toEqual([[], ["a"], ["a", "b"]])

      // Read your writes, typed errors.
      const read = yield* client.Execute({ appId: "notes", statement: "SELECT * FROM n WHERE _id = 'a'", txnId: w1.transactionId })
      expect(read.items).toEqual([{ _id: "a", text: "hi" }])
      const dql = yield* client.Execute({ appId: "notes", statement: "SELECT FROM" }).pipe(
        Effect.catchTag("DqlError", (e) => Effect.succeed(`line ${e.line} column ${e.column}`))
      )
      expect(dql).toMatch(/^line 1 column \d+$/)
      const exists = yield* Effect.flip(client.Execute({ appId: "notes", statement: "INSERT INTO n DOCUMENTS ({'_id': 'a'})" }))
      expect(exists._tag).toBe("InvalidRequest")
      const big = yield* Effect.flip(client.Execute({
        appId: "notes",
        statement: "INSERT INTO n DOCUMENTS (:d)",
        args: { d: { blob: "x".repeat(5 * 1024 * 1024 + 1) } }
      }))
      expect(big._tag).toBe("DocumentTooLarge")

      // The op log, in order, from a given seq.
      const ops = yield* client.ReadOpLog({ appId: "notes" }).pipe(Stream.runCollect)
      expect(Chunk.toReadonlyArray(ops).map((op) => op.seq)).toEqual([1, 2])
      expect(Chunk.toReadonlyArray(ops)[0]!.changes[0]).toMatchObject({ collection: "n", id: "\"a\"" })
      const tail = yield* client.ReadOpLog({ appId: "notes", fromSeq: 2 }).pipe(Stream.runCollect)
      expect(Chunk.toReadonlyArray(tail).map((op) => op.seq)).toEqual([2])

      const presence = yield* client.Presence({ appId: "notes" })
      expect(presence.localPeer.deviceName).toBe("shoal-big-peer")
      expect(presence.remotePeers).toEqual([])

      // The HTTP Data API sees RPC writes and vice versa.
      const viaHttp = yield* execute(url, "/notes/api/v4/store/execute", secret, { statement: "SELECT _id FROM n ORDER BY _id" })
      expect(viaHttp.items).toEqual([{ _id: "a" }, { _id: "b" }])
      yield* execute(url, "/notes/api/v4/store/execute", secret, { statement: "INSERT INTO n DOCUMENTS ({'_id': 'c'})" })
      const viaRpc = yield* client.Execute({ appId: "notes", statement: "SELECT _id FROM n ORDER BY _id" })
      expect(viaRpc.items).toEqual([{ _id: "a" }, { _id: "b" }, { _id: "c" }])
    }))

  it.scopedLive("credentials: bad → Unauthorized, other app → Forbidden, non-admin → Forbidden for admin calls", () =>
    Effect.gen(function*() {
      const { apps, url } = yield* startBigPeer()
      const a = yield* apps.ensure({ appId: "tenant-a", identityMode: "online-playground" })
      yield* apps.ensure({ appId: "tenant-b", identityMode: "online-playground" })
      yield* apps.ensure({ appId: "open", identityMode: "offline-playground" })
      const keyB = Redacted.value(
        (yield* apps.createApiKey({ appId: "tenant-b", name: "b", permissions: { read: everything, write: everything } })).bearer
      )
      const tokenA = Redacted.value(Option.getOrThrow(a.playgroundToken))
      const clientA = yield* rpcClient(url, tokenA, protocol)
      yield* clientA.Execute({ appId: "tenant-a", statement: "INSERT INTO s DOCUMENTS ({'_id': 'only-a'})" })

      const bad = yield* rpcClient(url, "wrong-token", protocol)
      const unauthorized = yield* Effect.flip(bad.Execute({ appId: "tenant-a", statement: "SELECT * FROM s" }))
      expect(unauthorized._tag).toBe("Unauthorized")

      const b = yield* rpcClient(url, keyB, protocol)
      const attempts: ReadonlyArray<Effect.Effect<unknown, { readonly _tag: string }>> = [
          b.Execute({ appId: "tenant-a", statement: "SELECT * FROM s" }),
          b.Execute({ appId: "tenant-a", statement: "DELETE FROM s" }),
          b.Observe({ appId: "tenant-a", statement: "SELECT * FROM s" }).pipe(Stream.take(1), Stream.runDrain),
          b.ReadOpLog({ appId: "tenant-a" }).pipe(Stream.runDrain),
          b.Presence({ appId: "tenant-a" }),
          b.CreateApp({ appId: "mine", identityMode: "offline-playground" }),
          b.CreateApiKey({ appId: "tenant-a", name: "steal", permissions: { read: everything, write: everything } })
        ]
      for (const attempt of attempts) {
        const e = yield* Effect.flip(attempt)
        expect(e._tag).toBe("Forbidden")
      }
      const own = yield* b.Execute({ appId: "tenant-b", statement: "SELECT * FROM s" })
      expect(own.items).toEqual([])
      const stillA = yield* clientA.Execute({ appId: "tenant-a", statement: "SELECT * FROM s" })
      expect(stillA.items).toEqual([{ _id: "only-a" }])

      // No credential: offline-playground apps only.
      const anon = yield* rpcClient(url, "", protocol)
      const open = yield* anon.Execute({ appId: "open", statement: "SELECT * FROM s" })
      expect(open.items).toEqual([])
      const closed = yield* Effect.flip(anon.Execute({ appId: "tenant-a", statement: "SELECT * FROM s" }))
      expect(closed._tag).toBe("Forbidden")
      const unknown = yield* Effect.flip(anon.Execute({ appId: "ghost", statement: "SELECT * FROM s" }))
      expect(unknown._tag).toBe("AppNotFound")
    }))

  it.scopedLive("Observe and Execute are limited by the key's read permissions", () =>
    Effect.gen(function*() {
      const { apps, url } = yield* startBigPeer()
      yield* apps.ensure({ appId: "perm", identityMode: "online-playground" })
      const key = Redacted.value((yield* apps.createApiKey({
        appId: "perm",
        name: "mine",
        permissions: {
          read: { everything: false, queriesByCollection: { t: ["owner = 'me'"] } },
          write: { everything: false, queriesByCollection: { t: ["owner = 'me'"] } }
        }
      })).bearer)
      const admin = yield* rpcClient(url, ADMIN_KEY, protocol)
      const mine = yield* rpcClient(url, key, protocol)
      yield* admin.Execute({ appId: "perm", statement: "INSERT INTO t DOCUMENTS (:d)", args: { d: [{ _id: 1, owner: "me" }, { _id: 2, owner: "you" }] } })
      const seen = yield* mine.Observe({ appId: "perm", statement: "SELECT _id FROM t ORDER BY _id" }).pipe(
        Stream.map((r) => r.items.map((d) => d._id)),
        Stream.take(2),
        Stream.runCollect,
        Effect.fork
      )
      yield* Effect.sleep("200 millis")
      yield* admin.Execute({ appId: "perm", statement: "INSERT INTO t DOCUMENTS (:d)", args: { d: [{ _id: 3, owner: "you" }] } })
      yield* admin.Execute({ appId: "perm", statement: "INSERT INTO t DOCUMENTS (:d)", args: { d: [{ _id: 4, owner: "me" }] } })
      expect(Chunk.toReadonlyArray(yield* Fiber.join(seen))).toEqual([[1], [1, 4]])
      const denied = yield* Effect.flip(mine.Execute({ appId: "perm", statement: "UPDATE t SET owner = 'me' WHERE _id = 2" }))
      expect(denied._tag).toBe("Forbidden")
      const oplog = yield* Effect.flip(mine.ReadOpLog({ appId: "perm" }).pipe(Stream.runDrain))
      expect(oplog._tag).toBe("Forbidden")
    }))
})

describe("RPC over HTTP: body limit", () => {
  it.scopedLive("a body above the limit gets 413 (not a reset) and the server keeps serving", () =>
    Effect.gen(function*() {
      const { apps, url } = yield* startBigPeer({ maxBodyBytes: 6 * 1024 * 1024 })
      const app = yield* apps.ensure({ appId: "big", identityMode: "online-playground" })
      const token = Redacted.value(Option.getOrThrow(app.playgroundToken))
      const oversized = yield* request(`${url}/rpc`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/ndjson" },
        body: "x".repeat(7 * 1024 * 1024)
      })
      expect(oversized.status).toBe(413)
      expect(oversized.body).toEqual({ error: { description: expect.stringContaining("too large") } })
      const client = yield* rpcClient(url, token, "http")
      const ok = yield* client.Execute({ appId: "big", statement: "SELECT * FROM s" })
      expect(ok.items).toEqual([])
      // A "__proto__" field is refused, not dropped on the way.
      const proto = yield* Effect.exit(client.Execute({ appId: "big", statement: "INSERT INTO s DOCUMENTS (:d)", args: JSON.parse('{"d":{"_id":"p","__proto__":{"x":1}}}') }))
      expect(proto._tag).toBe("Failure")
      expect((yield* client.Execute({ appId: "big", statement: "SELECT * FROM s" })).items).toEqual([])
    }))
})
