// Config from SHOAL_* variables, and graceful shutdown of an in-process Big Peer.
import * as HttpServer from "@effect/platform/HttpServer"
import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"
import { Apps } from "../src/Apps.js"
import * as BigPeer from "../src/BigPeer.js"
import * as Config from "../src/Config.js"
import { ADMIN_KEY, execute, tempDir } from "./util/harness.js"

const read = (env: Record<string, string>) =>
  Effect.either(Effect.withConfigProvider(Config.config, ConfigProvider.fromMap(new Map(Object.entries(env)))))

describe("Config", () => {
  it.effect("defaults, overrides, 0 allowed, garbage rejected", () =>
    Effect.gen(function*() {
      const defaults = yield* read({})
      expect(Either.isRight(defaults) && { ...defaults.right, adminKey: Option.isNone(defaults.right.adminKey) }).toEqual({
        ...Config.defaults,
        adminKey: true
      })
      const set = yield* read({
        SHOAL_PORT: "0",
        SHOAL_HOST: "0.0.0.0",
        SHOAL_DATA_DIR: "/var/lib/shoal",
        SHOAL_ADMIN_KEY: "k",
        SHOAL_MAX_BODY_BYTES: "1048576",
        SHOAL_TXN_WAIT_MS: "250"
      })
      expect(Either.isRight(set)).toBe(true)
      if (Either.isRight(set)) {
        expect(set.right).toMatchObject({ port: 0, host: "0.0.0.0", dataDir: "/var/lib/shoal", maxBodyBytes: 1048576 })
        expect(Duration.toMillis(set.right.txnWait)).toBe(250)
        expect(Option.map(set.right.adminKey, Redacted.value)).toEqual(Option.some("k"))
        expect(String(set.right.adminKey)).not.toContain("k\"")
      }
      for (const bad of [{ SHOAL_PORT: "http" }, { SHOAL_PORT: "70000" }, { SHOAL_PORT: "-1" }, { SHOAL_MAX_BODY_BYTES: "10" }]) {
        expect(Either.isLeft(yield* read(bad))).toBe(true)
      }
    }))
})

describe("shutdown", () => {
  it.scopedLive("closing the Big Peer lets an in-flight request finish, then closes replicas", () =>
    Effect.gen(function*() {
      const dataDir = yield* tempDir("shoal-shutdown-")
      const scope = yield* Scope.make()
      const config = Config.make({
        port: 0,
        dataDir,
        adminKey: Option.some(Redacted.make(ADMIN_KEY)),
        txnWait: Duration.millis(800)
      })
      const context = yield* Layer.buildWithScope(BigPeer.layer(config), scope)
      const url = yield* Effect.provide(BigPeer.url, Context.pick(HttpServer.HttpServer)(context))
      yield* Context.get(context, Apps).ensure({ appId: "s", identityMode: "offline-playground" })
      yield* execute(url, "/s/api/v4/store/execute", undefined, { statement: "INSERT INTO t DOCUMENTS ({'_id': 1})" })
      // Waits ~800 ms for a transaction that never comes, then answers 400.
      const slow = yield* Effect.fork(
        execute(url, "/s/api/v4/store/execute", undefined, { statement: "SELECT * FROM t" }, { "x-shoal-txn-id": "99" })
      )
      yield* Effect.sleep("150 millis")
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      const answer = yield* Fiber.join(slow)
      expect([answer.status, answer.error]).toEqual([400, expect.stringMatching(/not reached/)])
      // Its keep-alive connection is closed right away, not after the keep-alive timeout.
      const t0 = Date.now()
      yield* Fiber.join(closing).pipe(Effect.timeout("10 seconds"))
      expect(Date.now() - t0).toBeLessThan(2000)
      // Stopped accepting.
      const after = yield* Effect.either(Effect.tryPromise(() => fetch(`${url}/health`)))
      expect(Either.isLeft(after)).toBe(true)
    }))
})
