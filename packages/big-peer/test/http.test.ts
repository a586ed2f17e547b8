// HTTP Data API against a real Big Peer on 127.0.0.1:0: statuses, QueryResponse shape,
// permissions, read-your-writes, cross-tenant isolation. The server keeps serving after each error.
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { ADMIN_KEY, everything, execute, request, startBigPeer } from "./util/harness.js"

const EXEC = (appId: string) => `/${appId}/api/v4/store/execute`

const tokenOf = (app: { readonly playgroundToken: Option.Option<Redacted.Redacted<string>> }) =>
  Redacted.value(Option.getOrThrow(app.playgroundToken))

const expectFailedShape = (body: Record<string, unknown>) => {
  expect(body).toMatchObject({ queryType: "unknown", items: [], mutatedDocumentIds: [], warnings: [], totalWarningsCount: 0 })
  expect(typeof body["transactionId"]).toBe("number")
  expect(body["error"]).toEqual({ description: expect.any(String) })
}

describe("HTTP Data API", () => {
  it.scopedLive("answers 200/400/401/404/413 with a QueryResponse and keeps serving", () =>
    Effect.gen(function*() {
      const { apps, url } = yield* startBigPeer({ maxBodyBytes: 6 * 1024 * 1024 })
      const token = tokenOf(yield* apps.ensure({ appId: "shop", identityMode: "online-playground" }))
      const healthy = Effect.gen(function*() {
        const r = yield* execute(url, EXEC("shop"), token, { statement: "SELECT * FROM orders" })
        expect(r.status).toBe(200)
      })

      // 200: insert (generated _id returned), select
      const inserted = yield* execute(url, EXEC("shop"), token, {
        statement: "INSERT INTO orders DOCUMENTS (:o)",
        args: { o: { item: "tea", qty: 2 } }
      })
      expect(inserted.status).toBe(200)
      expect(inserted.body).toMatchObject({ queryType: "insert", items: [], warnings: [], totalWarningsCount: 0 })
      expect(inserted.body["error"]).toBeUndefined()
      const ids = inserted.body["mutatedDocumentIds"]
      expect(Array.isArray(ids) && ids.length === 1 && typeof ids[0] === "string").toBe(true)
      expect(inserted.headers.get("x-shoal-txn-id")).toBe(String(inserted.body["transactionId"]))
      const selected = yield* execute(url, EXEC("shop"), token, { statement: "SELECT item, qty FROM orders" })
      expect(selected.status).toBe(200)
      expect(selected.body).toMatchObject({ queryType: "select", items: [{ item: "tea", qty: 2 }] })

      // INSERT without ON ID CONFLICT fails on an existing id (v4 semantics) -> 400
      const dup = { statement: "INSERT INTO orders DOCUMENTS (:o)", args: { o: { _id: "x", item: "a" } } }
      expect((yield* execute(url, EXEC("shop"), token, dup)).status).toBe(200)
      const again = yield* execute(url, EXEC("shop"), token, dup)
      expect(again.status).toBe(400)
      expectFailedShape(again.body)

      const cases: ReadonlyArray<readonly [string, Effect.Effect<{ status: number; body: Record<string, unknown> }>, number]> = [
        ["bad DQL", execute(url, EXEC("shop"), token, { statement: "SELEKT * FROM orders" }), 400],
        ["missing arg", execute(url, EXEC("shop"), token, { statement: "SELECT * FROM orders WHERE item = :item" }), 400],
        ["malformed JSON", execute(url, EXEC("shop"), token, "{\"statement\": \"SELECT"), 400],
        ["empty body", execute(url, EXEC("shop"), token, ""), 400],
        ["no statement", execute(url, EXEC("shop"), token, { args: {} }), 400],
        ["args not an object", execute(url, EXEC("shop"), token, { statement: "SELECT * FROM orders", args: [1] }), 400],
        ["bad txn header", execute(url, EXEC("shop"), token, { statement: "SELECT * FROM orders" }, { "x-shoal-txn-id": "soon" }), 400],
        ["no credential", execute(url, EXEC("shop"), undefined, { statement: "SELECT * FROM orders" }), 401],
        ["bad token", execute(url, EXEC("shop"), "not-the-token", { statement: "SELECT * FROM orders" }), 401],
        ["bad JWT", execute(url, EXEC("shop"), "aaa.bbb.ccc", { statement: "SELECT * FROM orders" }), 401],
        [
          "unknown API key",
          execute(url, EXEC("shop"), `shoal_0123456789abcdef_${"A".repeat(43)}`, { statement: "SELECT * FROM orders" }),
          401
        ],
        ["unknown app", execute(url, EXEC("nope"), token, { statement: "SELECT * FROM orders" }), 404],
        [
          "a __proto__ field (would be lost in decoding)",
          execute(url, EXEC("shop"), token, '{"statement":"INSERT INTO orders DOCUMENTS (:o)","args":{"o":{"n":{"__proto__":{"x":1}}}}}'),
          400
        ],
        [
          "document above 5 MiB",
          execute(url, EXEC("shop"), token, {
            statement: "INSERT INTO orders DOCUMENTS (:o)",
            args: { o: { blob: "x".repeat(5 * 1024 * 1024 + 10) } }
          }),
          413
        ],
        [
          "body above the limit (Content-Length)",
          execute(url, EXEC("shop"), token, JSON.stringify({ statement: "SELECT 1", pad: "y".repeat(7 * 1024 * 1024) })),
          413
        ]
      ]
      for (const [name, run, status] of cases) {
        const r = yield* run
        expect([name, r.status]).toEqual([name, status])
        expectFailedShape(r.body)
        if (status === 401) expect(r.body["error"]).toMatchObject({ description: expect.stringMatching(/credential|token|API key/) })
        yield* healthy
      }

      // Chunked upload above the limit: no Content-Length, still a real 413 (not a reset).
      const chunk = new Uint8Array(1024 * 1024).fill(0x20)
      let sent = 0
      const init: RequestInit & { readonly duplex: "half" } = {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: new ReadableStream<Uint8Array>({
          pull(controller) {
            if (sent++ < 8) controller.enqueue(chunk)
            else controller.close()
          }
        }),
        duplex: "half" // fetch streams a body only in half-duplex mode
      }
      const chunked = yield* request(`${url}${EXEC("shop")}`, init)
      expect(chunked.status).toBe(413)
      yield* healthy

      // Unknown routes: JSON 404.
      const unknown = yield* request(`${url}/no/such/route`)
      expect(unknown.status).toBe(404)
      expect(unknown.body).toEqual({ error: { description: expect.any(String) } })
      const health = yield* request(`${url}/health`)
      expect(health.body).toEqual({ status: "ok" })
    }))

  it.scopedLive("X-Shoal-Txn-Id / X-DITTO-TXN-ID: read-your-writes, bounded wait", () =>
    Effect.gen(function*() {
      const { apps, url } = yield* startBigPeer({ txnWait: Duration.millis(300) })
      const token = tokenOf(yield* apps.ensure({ appId: "ryw", identityMode: "online-playground" }))
      const w = yield* execute(url, EXEC("ryw"), token, { statement: "INSERT INTO t DOCUMENTS ({'_id': 'a', 'n': 1})" })
      expect(w.status).toBe(200)
      const txn = String(w.body["transactionId"])
      for (const header of ["x-shoal-txn-id", "X-DITTO-TXN-ID"]) {
        const r = yield* execute(url, EXEC("ryw"), token, { statement: "SELECT * FROM t" }, { [header]: txn })
        expect(r.status).toBe(200)
        expect(r.body["items"]).toEqual([{ _id: "a", n: 1 }])
        expect(Number(r.body["transactionId"])).toBeGreaterThanOrEqual(Number(txn))
      }
      const start = Date.now()
      const future = yield* execute(url, EXEC("ryw"), token, { statement: "SELECT * FROM t" }, {
        "x-shoal-txn-id": String(Number(txn) + 1000)
      })
      expect(future.status).toBe(400)
      expect(future.error).toMatch(/not reached/)
      expect(Date.now() - start).toBeGreaterThanOrEqual(250)

      // A write that lands while the request waits releases it.
      const waiting = yield* Effect.fork(
        execute(url, EXEC("ryw"), token, { statement: "SELECT * FROM t ORDER BY _id" }, {
          "x-shoal-txn-id": String(Number(txn) + 1)
        })
      )
      yield* Effect.sleep("50 millis")
      yield* execute(url, EXEC("ryw"), token, { statement: "INSERT INTO t DOCUMENTS ({'_id': 'b', 'n': 2})" })
      const released = yield* waiting.await.pipe(Effect.flatten)
      expect(released.status).toBe(200)
      expect(released.body["items"]).toEqual([{ _id: "a", n: 1 }, { _id: "b", n: 2 }])
    }))

  it.scopedLive("API key permissions: reads filtered, writes outside them refused and not stored", () =>
    Effect.gen(function*() {
      const { apps, url } = yield* startBigPeer()
      yield* apps.ensure({ appId: "teams", identityMode: "online-playground" })
      const key = yield* apps.createApiKey({
        appId: "teams",
        name: "red team service",
        permissions: {
          read: { everything: false, queriesByCollection: { tasks: ["team = 'red'", "public = true"] } },
          write: { everything: false, queriesByCollection: { tasks: ["team = 'red'"] } }
        }
      })
      const red = Redacted.value(key.bearer)
      expect(red).toMatch(/^shoal_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/)
      const seed = yield* execute(url, EXEC("teams"), ADMIN_KEY, {
        statement: "INSERT INTO tasks DOCUMENTS (:docs)",
        args: {
          docs: [
            { _id: "r1", team: "red", title: "paint" },
            { _id: "b1", team: "blue", title: "secret" },
            { _id: "b2", team: "blue", title: "announcement", public: true }
          ]
        }
      })
      expect(seed.status).toBe(200)
      const adminIds = Effect.map(
        execute(url, EXEC("teams"), ADMIN_KEY, { statement: "SELECT * FROM tasks ORDER BY _id" }),
        (r) => r.items.map((d) => `${String(d["_id"])}:${String(d["team"])}`)
      )

      // Reads: filtered, also with a projection that drops the predicate's field, ORDER BY and LIMIT.
      const all = yield* execute(url, EXEC("teams"), red, { statement: "SELECT _id FROM tasks ORDER BY _id" })
      expect(all.body["items"]).toEqual([{ _id: "b2" }, { _id: "r1" }])
      const limited = yield* execute(url, EXEC("teams"), red, { statement: "SELECT * FROM tasks ORDER BY _id DESC LIMIT 1" })
      expect(limited.body["items"]).toEqual([{ _id: "r1", team: "red", title: "paint" }])
      const point = yield* execute(url, EXEC("teams"), red, { statement: "SELECT * FROM tasks WHERE _id = 'b1'" })
      expect(point.body["items"]).toEqual([])
      const other = yield* execute(url, EXEC("teams"), red, { statement: "SELECT * FROM notes" })
      expect([other.status, other.body["items"]]).toEqual([200, []])
      // The key names its app: the app-less route works too.
      const appless = yield* execute(url, "/api/v4/store/execute", red, { statement: "SELECT _id FROM tasks ORDER BY _id" })
      expect(appless.body["items"]).toEqual([{ _id: "b2" }, { _id: "r1" }])

      // Writes inside the permissions succeed.
      const ok = yield* execute(url, EXEC("teams"), red, {
        statement: "INSERT INTO tasks DOCUMENTS (:d)",
        args: { d: { _id: "r2", team: "red" } }
      })
      expect(ok.status).toBe(200)
      const ok2 = yield* execute(url, EXEC("teams"), red, { statement: "UPDATE tasks SET title = 'repaint' WHERE _id = 'r1'" })
      expect([ok2.status, ok2.body["mutatedDocumentIds"]]).toEqual([200, ["r1"]])

      // Writes outside: 403, nothing stored (also not the allowed part of a mixed batch).
      const before = yield* adminIds
      const refused = [
        { statement: "INSERT INTO tasks DOCUMENTS (:d)", args: { d: { _id: "b3", team: "blue" } } },
        { statement: "INSERT INTO tasks DOCUMENTS (:d)", args: { d: [{ _id: "r3", team: "red" }, { _id: "b4", team: "blue" }] } },
        { statement: "INSERT INTO tasks DOCUMENTS (:d) ON ID CONFLICT DO UPDATE", args: { d: { _id: "b1", team: "red" } } },
        { statement: "UPDATE tasks SET team = 'blue' WHERE _id = 'r1'" },
        { statement: "UPDATE tasks SET title = 'x' WHERE _id = 'b1'" },
        { statement: "DELETE FROM tasks WHERE _id = 'b2'" },
        { statement: "DELETE FROM tasks" },
        { statement: "EVICT FROM tasks WHERE _id = 'r1'" },
        { statement: "CREATE INDEX by_team ON tasks (team)" }
      ]
      for (const payload of refused) {
        const r = yield* execute(url, EXEC("teams"), red, payload)
        expect([payload.statement, r.status]).toEqual([payload.statement, 403])
        expectFailedShape(r.body)
      }
      expect(yield* adminIds).toEqual(before)
      expect(before).toEqual(["b1:blue", "b2:blue", "r1:red", "r2:red"])

      // A read-only key may not write at all.
      const reader = yield* apps.createApiKey({
        appId: "teams",
        name: "reader",
        permissions: { read: everything, write: { everything: false, queriesByCollection: {} } }
      })
      const ro = yield* execute(url, EXEC("teams"), Redacted.value(reader.bearer), {
        statement: "INSERT INTO tasks DOCUMENTS ({'team': 'red'})"
      })
      expect(ro.status).toBe(403)
      const roRead = yield* execute(url, EXEC("teams"), Redacted.value(reader.bearer), { statement: "SELECT * FROM tasks" })
      expect(roRead.items.length).toBe(4)
    }))

  it.scopedLive("one app's credentials never reach another app's data", () =>
    Effect.gen(function*() {
      const { apps, url } = yield* startBigPeer()
      const tokenA = tokenOf(yield* apps.ensure({ appId: "app-a", identityMode: "online-playground" }))
      const tokenB = tokenOf(yield* apps.ensure({ appId: "app-b", identityMode: "online-playground" }))
      const keyB = Redacted.value(
        (yield* apps.createApiKey({ appId: "app-b", name: "b", permissions: { read: everything, write: everything } })).bearer
      )
      yield* execute(url, EXEC("app-a"), tokenA, { statement: "INSERT INTO secrets DOCUMENTS ({'_id': 's', 'v': 'A only'})" })

      for (const credential of [tokenB, keyB]) {
        const r = yield* execute(url, EXEC("app-a"), credential, { statement: "SELECT * FROM secrets" })
        expect(r.status).toBe(401)
        expect(r.body["items"]).toEqual([])
        const w = yield* execute(url, EXEC("app-a"), credential, { statement: "DELETE FROM secrets" })
        expect(w.status).toBe(401)
        // Through the app-less route the credential lands in its own app.
        const own = yield* execute(url, "/api/v4/store/execute", credential, { statement: "SELECT * FROM secrets" })
        expect([own.status, own.body["items"]]).toEqual([200, []])
      }
      const still = yield* execute(url, EXEC("app-a"), tokenA, { statement: "SELECT * FROM secrets" })
      expect(still.body["items"]).toEqual([{ _id: "s", v: "A only" }])
      // The admin key is not an app credential.
      const admin = yield* execute(url, "/api/v4/store/execute", ADMIN_KEY, { statement: "SELECT * FROM secrets" })
      expect(admin.status).toBe(400)
    }))

  it.scopedLive("offline-playground apps take any caller", () =>
    Effect.gen(function*() {
      const { apps, url } = yield* startBigPeer()
      yield* apps.ensure({ appId: "open", identityMode: "offline-playground" })
      const w = yield* execute(url, EXEC("open"), undefined, { statement: "INSERT INTO t DOCUMENTS ({'_id': 1})" })
      expect(w.status).toBe(200)
      const r = yield* execute(url, EXEC("open"), "anything", { statement: "SELECT * FROM t" })
      expect(r.body["items"]).toEqual([{ _id: 1 }])
    }))
})
