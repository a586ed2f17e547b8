// End to end with real processes: the example Big Peer (`examples/big-peer-server`, as `npm start`
// runs it) as a child process on a free port, an auth webhook in this process, two Small Peers with
// different read permissions syncing with it over WebSocket, the HTTP API and the RPC client.
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { spawn } from "node:child_process"
import { createServer } from "node:http"
import { fileURLToPath } from "node:url"
import { AppKeys } from "../src/auth/index.js"
import * as PeerAuth from "../src/PeerAuth.js"
import {
  ADMIN_KEY,
  eventually,
  execute,
  handshake,
  idsOn,
  presenting,
  request,
  rpcClient,
  smallPeer,
  tempDir,
  wsUrl
} from "./util/harness.js"

const ROOT = fileURLToPath(new URL("../../..", import.meta.url))

interface Child {
  readonly url: string
  readonly demoToken: string
  readonly output: () => string
  readonly exited: Promise<number | null>
  readonly kill: (signal: NodeJS.Signals) => void
}

/** `node --import tsx examples/big-peer-server/src/main.ts` with SHOAL_PORT=0; resolves once it printed its URL and demo token. */
const bigPeerProcess = (dataDir: string) =>
  Effect.acquireRelease(
    Effect.async<Child, Error>((resume) => {
      const child = spawn(process.execPath, ["--import", "tsx", "examples/big-peer-server/src/main.ts"], {
        cwd: ROOT,
        env: { ...process.env, SHOAL_PORT: "0", SHOAL_DATA_DIR: dataDir, SHOAL_ADMIN_KEY: ADMIN_KEY },
        stdio: ["ignore", "pipe", "pipe"]
      })
      const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)))
      let out = ""
      let done = false
      const onData = (d: Buffer) => {
        out += d.toString()
        const url = /listening on (http:\/\/\S+)/.exec(out)?.[1]
        const token = /token:\s+(\S+)/.exec(out)?.[1]
        if (!done && url !== undefined && token !== undefined && out.includes("Try:")) {
          done = true
          resume(Effect.succeed({ url, demoToken: token, output: () => out, exited, kill: (s) => child.kill(s) }))
        }
      }
      child.stdout.on("data", onData)
      child.stderr.on("data", (d: Buffer) => void (out += d.toString()))
      child.once("exit", (code) => {
        if (!done) resume(Effect.fail(new Error(`big peer exited early (${code}):\n${out}`)))
      })
    }).pipe(Effect.timeout("60 seconds")),
    (child) => Effect.sync(() => child.kill("SIGKILL"))
  )

const rule = (team: string) => ({ everything: false, queriesByCollection: { tasks: [`team = '${team}'`] } })

/** The app's auth webhook: a provider token names a user and its permissions. */
const webhookServer = Effect.acquireRelease(
  Effect.async<{ url: string; close: () => void; calls: Array<unknown> }>((resume) => {
    const calls: Array<unknown> = []
    const users: Record<string, unknown> = {
      "red-secret": { authenticate: true, expirationSeconds: 3600, userID: "rita", permissions: { read: rule("red"), write: rule("red") } },
      "blue-secret": { authenticate: true, expirationSeconds: 3600, userID: "bob", permissions: { read: rule("blue"), write: rule("blue") } },
      "brief-secret": { authenticate: true, expirationSeconds: 6, userID: "brief", permissions: { read: rule("red"), write: rule("red") } },
      "broken-secret": { authenticate: true, expirationSeconds: 60, userID: "x", permissions: { read: { everything: false, queriesByCollection: { t: ["a ="] } }, write: rule("red") } }
    }
    const server = createServer((req, res) => {
      let body = ""
      req.on("data", (c: Buffer) => (body += c.toString()))
      req.on("end", () => {
        const parsed: unknown = JSON.parse(body)
        calls.push(parsed)
        const token = typeof parsed === "object" && parsed !== null && "token" in parsed ? parsed.token : undefined
        const answer = typeof token === "string" && token in users ? users[token] : { authenticate: false, userInfo: "unknown user" }
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(answer))
      })
    })
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      resume(Effect.succeed({ url: `http://127.0.0.1:${port}/auth`, close: () => server.close(), calls }))
    })
  }),
  (s) => Effect.sync(s.close)
)

const LoginAnswer = Schema.Struct({
  token: Schema.String,
  userId: Schema.String,
  expiresAt: Schema.String,
  publicKey: AppKeys.PublicJwk
})

const login = (url: string, appId: string, token: string) =>
  Effect.flatMap(
    request(`${url}/${appId}/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ provider: "test-idp", token })
    }),
    (r) => Effect.map(Schema.decodeUnknown(LoginAnswer)(r.body), (answer) => ({ ...answer, status: r.status })).pipe(Effect.orDie)
  )

describe("end to end (Big Peer child process)", () => {
  it.scopedLive("two small peers with different permissions, the HTTP API and RPC; refused writes stored nowhere; SIGTERM exits 0", () =>
    Effect.gen(function*() {
      const dataDir = yield* tempDir("shoal-e2e-")
      const hook = yield* webhookServer
      const bp = yield* bigPeerProcess(dataDir)
      const { url } = bp

      // The demo app of `npm start` answers its printed curl.
      const demo = yield* execute(url, "/demo/api/v4/store/execute", bp.demoToken, { statement: "SELECT * FROM tasks" })
      expect(demo.status).toBe(200)

      // Admin creates the app through RPC.
      const admin = yield* rpcClient(url, ADMIN_KEY, "websocket")
      const app = yield* admin.CreateApp({ appId: "fleet", identityMode: "online-with-authentication", authWebhookUrl: hook.url })
      expect(app).toEqual({ appId: "fleet", identityMode: "online-with-authentication", authWebhookUrl: hook.url })

      // Login: webhook → signed token with permissions.
      const red = yield* login(url, "fleet", "red-secret")
      const blue = yield* login(url, "fleet", "blue-secret")
      expect([red.status, red.userId, blue.userId]).toEqual([200, "rita", "bob"])
      expect(hook.calls[0]).toEqual({ appID: "fleet", version: "1", provider: "test-idp", token: "red-secret" })
      const refused = yield* request(`${url}/fleet/auth/login`, {
        method: "POST",
        body: JSON.stringify({ provider: "test-idp", token: "who-knows" })
      })
      expect([refused.status, refused.error]).toEqual([401, expect.stringMatching(/unknown user/)])
      const broken = yield* request(`${url}/fleet/auth/login`, { method: "POST", body: JSON.stringify({ provider: "p", token: "broken-secret" }) })
      expect(broken.status).toBe(502)
      const notThere = yield* request(`${url}/demo/auth/login`, { method: "POST", body: JSON.stringify({ provider: "p", token: "red-secret" }) })
      expect(notThere.status).toBe(400)

      const peerOf = (name: string, login: typeof red) =>
        Effect.flatMap(
          PeerAuth.signedToken({ appId: "fleet", token: login.token, publicKey: login.publicKey }).pipe(Effect.orDie),
          (auth) => smallPeer({ appId: "fleet", name, connect: [wsUrl(url, "fleet")], auth, subscriptions: ["SELECT * FROM tasks"] })
        )
      const redPeer = yield* peerOf("red-tablet", red)
      const bluePeer = yield* peerOf("blue-tablet", blue)
      const rejections = yield* redPeer.sync.rejections.pipe(Stream.take(1), Stream.runCollect, Effect.fork)

      const adminIds = Effect.map(
        execute(url, "/fleet/api/v4/store/execute", ADMIN_KEY, { statement: "SELECT * FROM tasks ORDER BY _id" }),
        (r) => r.items.map((d) => String(d["_id"]))
      )

      // Writes from each side, and from the HTTP API.
      yield* redPeer.peer.execute("INSERT INTO tasks DOCUMENTS (:t)", { t: { _id: "r1", team: "red", title: "tyres" } })
      yield* bluePeer.peer.execute("INSERT INTO tasks DOCUMENTS (:t)", { t: { _id: "b1", team: "blue", title: "brakes" } })
      yield* execute(url, "/fleet/api/v4/store/execute", ADMIN_KEY, {
        statement: "INSERT INTO tasks DOCUMENTS (:t)",
        args: { t: [{ _id: "r2", team: "red", title: "oil" }, { _id: "b2", team: "blue", title: "lights" }] }
      })
      yield* eventually(Effect.flatMap(adminIds, (ids) => ids.join() === "b1,b2,r1,r2" ? Effect.void : Effect.fail(ids)))
      yield* eventually(Effect.flatMap(idsOn(redPeer, "SELECT * FROM tasks"), (ids) =>
        ids.join() === "r1,r2" ? Effect.void : Effect.fail(ids)))
      yield* eventually(Effect.flatMap(idsOn(bluePeer, "SELECT * FROM tasks"), (ids) =>
        ids.join() === "b1,b2" ? Effect.void : Effect.fail(ids)))

      // A write outside red's permissions: refused by the Big Peer, reported to red, stored nowhere else.
      yield* redPeer.peer.execute("INSERT INTO tasks DOCUMENTS (:t)", { t: { _id: "x1", team: "blue", title: "forged" } })
      yield* redPeer.peer.execute("UPDATE tasks SET team = 'blue' WHERE _id = 'r2'")
      const reported = yield* rejections.await.pipe(Effect.flatten, Effect.timeout("10 seconds"))
      expect(Chunk.toReadonlyArray(reported)[0]?.reason).toBe("permission denied")
      yield* redPeer.peer.execute("INSERT INTO tasks DOCUMENTS (:t)", { t: { _id: "r3", team: "red", title: "after" } })
      yield* eventually(Effect.flatMap(adminIds, (ids) => ids.includes("r3") ? Effect.void : Effect.fail(ids)))
      yield* eventually(Effect.flatMap(idsOn(bluePeer, "SELECT * FROM tasks"), (ids) =>
        ids.join() === "b1,b2" ? Effect.void : Effect.fail(ids)))
      expect(yield* adminIds).toEqual(["b1", "b2", "r1", "r2", "r3"])
      const r2 = yield* execute(url, "/fleet/api/v4/store/execute", ADMIN_KEY, { statement: "SELECT team FROM tasks WHERE _id = 'r2'" })
      expect(r2.items).toEqual([{ team: "red" }])
      expect(yield* idsOn(bluePeer, "SELECT * FROM tasks")).toEqual(["b1", "b2"])

      // The same signed tokens on the HTTP API and RPC: limited the same way.
      const redHttp = yield* execute(url, "/fleet/api/v4/store/execute", red.token, { statement: "SELECT _id FROM tasks ORDER BY _id" })
      expect(redHttp.items).toEqual([{ _id: "r1" }, { _id: "r2" }, { _id: "r3" }])
      const blueForged = yield* execute(url, "/api/v4/store/execute", blue.token, {
        statement: "INSERT INTO tasks DOCUMENTS ({'_id': 'x2', 'team': 'red'})"
      })
      expect(blueForged.status).toBe(403)
      const blueRpc = yield* rpcClient(url, blue.token, "http")
      const blueView = yield* blueRpc.Execute({ appId: "fleet", statement: "SELECT _id FROM tasks ORDER BY _id" })
      expect(blueView.items).toEqual([{ _id: "b1" }, { _id: "b2" }])
      // Cross-tenant: the demo app's token and the fleet tokens do not cross.
      expect((yield* execute(url, "/fleet/api/v4/store/execute", bp.demoToken, { statement: "SELECT * FROM tasks" })).status).toBe(401)
      expect((yield* execute(url, "/demo/api/v4/store/execute", red.token, { statement: "SELECT * FROM tasks" })).status).toBe(401)
      expect(yield* handshake(wsUrl(url, "demo"), "demo", presenting(red.token))).toMatch(/invalid/)

      // Bad and expired tokens: right answer on every API, and the server keeps serving.
      expect(yield* handshake(wsUrl(url, "fleet"), "fleet", presenting("not.a.token"))).toMatch(/^invalid token/)
      expect(yield* handshake(wsUrl(url, "fleet"), "fleet", presenting(undefined))).toBe("missing token")
      const brief = yield* login(url, "fleet", "brief-secret")
      expect(yield* handshake(wsUrl(url, "fleet"), "fleet", presenting(brief.token))).toBe("ok")
      yield* Effect.sleep("7100 millis")
      expect(yield* handshake(wsUrl(url, "fleet"), "fleet", presenting(brief.token))).toBe("token expired")
      const expiredHttp = yield* execute(url, "/fleet/api/v4/store/execute", brief.token, { statement: "SELECT * FROM tasks" })
      expect([expiredHttp.status, expiredHttp.error]).toEqual([401, "token expired"])
      const expiredRpc = yield* rpcClient(url, brief.token, "websocket")
      const expiredErr = yield* Effect.flip(expiredRpc.Execute({ appId: "fleet", statement: "SELECT * FROM tasks" }))
      expect(expiredErr._tag).toBe("Unauthorized")
      // A link whose token expires while connected ends with Reject "token expired".
      const brief2 = yield* login(url, "fleet", "brief-secret")
      const live = yield* Effect.either(handshake(wsUrl(url, "fleet"), "fleet", presenting(brief2.token), { untilEnd: true }))
      expect(live).toEqual(Either.right("token expired"))
      expect((yield* request(`${url}/health`)).status).toBe(200)

      // SIGTERM: graceful shutdown, exit code 0, and the data survives a restart.
      bp.kill("SIGTERM")
      const code = yield* Effect.promise(() => bp.exited).pipe(Effect.timeout("20 seconds"))
      expect([code, bp.output()]).toEqual([0, expect.any(String)])
      const again = yield* bigPeerProcess(dataDir)
      const persisted = yield* execute(again.url, "/fleet/api/v4/store/execute", ADMIN_KEY, { statement: "SELECT _id FROM tasks ORDER BY _id" })
      expect(persisted.items.map((d) => d["_id"])).toEqual(["b1", "b2", "r1", "r2", "r3"])
      expect(again.demoToken).toBe(bp.demoToken)
      again.kill("SIGTERM")
      expect(yield* Effect.promise(() => again.exited)).toBe(0)
    }), 120_000)
})
