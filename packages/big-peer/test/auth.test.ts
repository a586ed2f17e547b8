import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as HttpLayerRouter from "@effect/platform/HttpLayerRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { describe, expect, it } from "@effect/vitest"
import type { Permissions } from "@shoal/core"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import * as jose from "jose"
import { createServer } from "node:http"
import { ApiKeys, AppKeys, AuthWebhook, Credential, PlaygroundToken, Tokens } from "../src/auth/index.js"

const perms: Permissions.Permissions = {
  read: { everything: false, queriesByCollection: { tasks: ["owner = 'alice' OR shared = true"] } },
  write: { everything: false, queriesByCollection: { tasks: ["owner = 'alice'"] } }
}

/** Keys survive a JSON round trip, the way they live in app metadata. */
const storeAndReload = (keys: AppKeys.AppKeys) =>
  Effect.gen(function*() {
    const json = yield* Schema.encode(AppKeys.StoredKeysFromJson)(yield* AppKeys.exportKeys(keys))
    return yield* AppKeys.importKeys(yield* Schema.decode(AppKeys.StoredKeysFromJson)(json))
  })

/** A small peer gets only the public JWK. */
const publicOnly = (keys: AppKeys.AppKeys) =>
  Effect.gen(function*() {
    const jwk = yield* AppKeys.exportPublicKey(keys.publicKey)
    const received = yield* Schema.decodeUnknown(Schema.parseJson(AppKeys.PublicJwk))(JSON.stringify(jwk))
    return yield* AppKeys.importPublicKey(received)
  })

describe("AppKeys + Tokens", () => {
  it.live("issue → verify round trip, verifying with the public key only", () =>
    Effect.gen(function*() {
      const keys = yield* storeAndReload(yield* AppKeys.generate)
      const token = yield* Tokens.issue({ appId: "app-1", userId: "alice", permissions: perms, expiresInSeconds: 600, keys })
      expect(jose.decodeProtectedHeader(token)).toEqual({ alg: "Ed25519", typ: "JWT" })
      expect(jose.decodeJwt(token)).toMatchObject({ iss: "shoal", aud: "app-1", sub: "alice", perms })

      const verified = yield* Tokens.verify(token, { appId: "app-1", publicKey: yield* publicOnly(keys) })
      expect(verified).toMatchObject({ appId: "app-1", userId: "alice", permissions: perms })
      const remaining = verified.expiresAt.getTime() - Date.now()
      expect(remaining).toBeGreaterThan(590_000)
      expect(remaining).toBeLessThanOrEqual(600_000)
    }))

  it.live("the stored private JWK is redacted when printed", () =>
    Effect.gen(function*() {
      const stored = yield* AppKeys.exportKeys(yield* AppKeys.generate)
      expect(stored.publicKey).toMatchObject({ kty: "OKP", crv: "Ed25519" })
      expect(String(stored.privateKey.d)).toBe("<redacted>")
      expect(Redacted.value(stored.privateKey.d)).toMatch(/^[A-Za-z0-9_-]{43}$/)
    }))

  it.live("an expired token fails with TokenExpired", () =>
    Effect.gen(function*() {
      const keys = yield* AppKeys.generate
      const token = yield* Tokens.issue({ appId: "app-1", userId: "alice", permissions: perms, expiresInSeconds: -5, keys })
      const err = yield* Effect.flip(Tokens.verify(token, { appId: "app-1", publicKey: keys.publicKey }))
      expect(err).toBeInstanceOf(Tokens.TokenExpired)
      expect(err.message).toMatch(/^token expired at \d{4}-/)
      // A clock tolerance larger than the overshoot accepts it.
      const lenient = yield* Tokens.verify(token, { appId: "app-1", publicKey: keys.publicKey, clockToleranceSeconds: 60 })
      expect(lenient.userId).toBe("alice")
    }))

  it.effect("expiry follows Effect's Clock (TestClock)", () =>
    Effect.gen(function*() {
      const keys = yield* AppKeys.generate
      const token = yield* Tokens.issue({ appId: "app-1", userId: "alice", permissions: perms, expiresInSeconds: 60, keys })
      const check = Tokens.verify(token, { appId: "app-1", publicKey: keys.publicKey })
      yield* TestClock.adjust("59 seconds")
      expect((yield* check).userId).toBe("alice")
      yield* TestClock.adjust("2 seconds")
      expect((yield* Effect.flip(check))._tag).toBe("TokenExpired")
    }))

  it.live("a token of another app (audience) → TokenInvalid", () =>
    Effect.gen(function*() {
      const keys = yield* AppKeys.generate
      const token = yield* Tokens.issue({ appId: "app-1", userId: "alice", permissions: perms, expiresInSeconds: 60, keys })
      const err = yield* Effect.flip(Tokens.verify(token, { appId: "app-2", publicKey: keys.publicKey }))
      expect(err).toBeInstanceOf(Tokens.TokenInvalid)
      expect(err.message).toBe(`invalid token: not issued for app "app-2"`)
    }))

  it.live("tampered, foreign-key, wrong-alg and malformed tokens → TokenInvalid", () =>
    Effect.gen(function*() {
      const keys = yield* AppKeys.generate
      const other = yield* AppKeys.generate
      const token = yield* Tokens.issue({ appId: "app-1", userId: "alice", permissions: perms, expiresInSeconds: 60, keys })
      const verify = (t: string, publicKey = keys.publicKey) =>
        Effect.flip(Tokens.verify(t, { appId: "app-1", publicKey }))

      // Payload changed (escalate to write everything), signature kept.
      const [header, payload, signature] = token.split(".")
      const claims = Schema.decodeUnknownSync(Schema.parseJson(Tokens.Claims))(
        Buffer.from(payload!, "base64url").toString("utf8")
      )
      const escalated = { ...claims, perms: { ...claims.perms, write: { everything: true, queriesByCollection: {} } } }
      const tampered = [header, Buffer.from(JSON.stringify(escalated)).toString("base64url"), signature].join(".")
      const e1 = yield* verify(tampered)
      expect(e1).toMatchObject({ _tag: "TokenInvalid", reason: "signature verification failed" })

      expect((yield* verify(token, other.publicKey))._tag).toBe("TokenInvalid")
      expect((yield* verify("not.a.jwt"))._tag).toBe("TokenInvalid")
      expect((yield* verify(""))._tag).toBe("TokenInvalid")

      // Same key, legacy "EdDSA" alg header: rejected by the algorithm allow-list.
      const legacy = yield* Effect.promise(() =>
        new jose.SignJWT({ perms }).setProtectedHeader({ alg: "EdDSA" }).setIssuer("shoal").setSubject("alice")
          .setAudience("app-1").setIssuedAt().setExpirationTime("1m").sign(keys.privateKey)
      )
      expect((yield* verify(legacy))._tag).toBe("TokenInvalid")

      // Valid signature, but no permissions claim.
      const noPerms = yield* Effect.promise(() =>
        new jose.SignJWT({}).setProtectedHeader({ alg: "Ed25519" }).setIssuer("shoal").setSubject("alice")
          .setAudience("app-1").setIssuedAt().setExpirationTime("1m").sign(keys.privateKey)
      )
      const e2 = yield* verify(noPerms)
      expect(e2).toMatchObject({ _tag: "TokenInvalid", reason: expect.stringContaining("bad claims") })
    }))

  it.live("importKeys rejects a corrupt stored key with KeyError", () =>
    Effect.gen(function*() {
      const stored = yield* AppKeys.exportKeys(yield* AppKeys.generate)
      const corrupt = { ...stored, publicKey: { ...stored.publicKey, x: "AAAA" } }
      const err = yield* Effect.flip(AppKeys.importKeys(corrupt))
      expect(err).toBeInstanceOf(AppKeys.KeyError)
    }))
})

// ---------------------------------------------------------------------------------------------
// Auth webhook against a real HTTP server on 127.0.0.1:0
// ---------------------------------------------------------------------------------------------

interface Reply {
  readonly status: number
  readonly body: string
  readonly delayMs?: number
}

/** A provider webhook answering `plan[i]` to the i-th call (the last entry repeats); records request bodies. */
const provider = (plan: ReadonlyArray<Reply>) =>
  Effect.gen(function*() {
    const received = yield* Ref.make<ReadonlyArray<unknown>>([])
    const route = HttpLayerRouter.add(
      "POST",
      "/auth",
      Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        const body = yield* Effect.orDie(request.json)
        const n = (yield* Ref.getAndUpdate(received, (all) => [...all, body])).length
        const reply = plan[Math.min(n, plan.length - 1)]!
        if (reply.delayMs !== undefined) yield* Effect.sleep(reply.delayMs)
        return HttpServerResponse.text(reply.body, { status: reply.status, contentType: "application/json" })
      })
    )
    const ctx = yield* Layer.build(
      HttpLayerRouter.serve(route, { disableLogger: true, disableListenLog: true }).pipe(
        Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" }))
      )
    )
    const url = yield* HttpServer.addressWith((a) =>
      Effect.succeed(a._tag === "TcpAddress" ? `http://${a.hostname}:${a.port}/auth` : "")
    ).pipe(Effect.provide(ctx))
    return { url, received }
  })

const accept = JSON.stringify({ authenticate: true, expirationSeconds: 3600, userID: "alice", permissions: perms })

const webhook = (options: AuthWebhook.WebhookOptions = {}) =>
  Effect.map(
    Layer.build(AuthWebhook.AuthWebhook.layerNode({ retryBaseDelay: "20 millis", ...options })),
    (ctx) => Context.get(ctx, AuthWebhook.AuthWebhook)
  )

const request = (url: string): AuthWebhook.AuthenticateRequest => ({
  appId: "app-1",
  url,
  provider: "my-idp",
  token: Redacted.make("idp-token-123")
})

describe("AuthWebhook", () => {
  it.scopedLive("an accepted user: permissions decoded; the request has Ditto's shape", () =>
    Effect.gen(function*() {
      const { received, url } = yield* provider([{ status: 200, body: accept }])
      const hook = yield* webhook()
      const user = yield* hook.authenticate(request(url))
      expect(user).toEqual({
        appId: "app-1",
        provider: "my-idp",
        userId: "alice",
        permissions: perms,
        expirationSeconds: 3600
      })
      expect(yield* Ref.get(received)).toEqual([{ appID: "app-1", version: "1", provider: "my-idp", token: "idp-token-123" }])
    }))

  it.scopedLive("authenticate: false → AuthRejected (not retried)", () =>
    Effect.gen(function*() {
      const { received, url } = yield* provider([
        { status: 200, body: JSON.stringify({ authenticate: false, userInfo: "account disabled" }) }
      ])
      const err = yield* Effect.flip((yield* webhook()).authenticate(request(url)))
      expect(err).toBeInstanceOf(AuthWebhook.AuthRejected)
      expect(err.message).toBe(`authentication refused by provider "my-idp" of app "app-1": account disabled`)
      expect((yield* Ref.get(received)).length).toBe(1)
    }))

  it.scopedLive("500 then 200 → retried, then accepted", () =>
    Effect.gen(function*() {
      const { received, url } = yield* provider([{ status: 500, body: "oops" }, { status: 200, body: accept }])
      const user = yield* (yield* webhook()).authenticate(request(url))
      expect(user.userId).toBe("alice")
      expect((yield* Ref.get(received)).length).toBe(2)
    }))

  it.scopedLive("a 5xx that persists → AuthProviderError after a bounded number of retries", () =>
    Effect.gen(function*() {
      const { received, url } = yield* provider([{ status: 503, body: "" }])
      const err = yield* Effect.flip((yield* webhook({ retries: 2 })).authenticate(request(url)))
      expect(err).toBeInstanceOf(AuthWebhook.AuthProviderError)
      expect(err.reason).toBe("answered HTTP 503")
      expect((yield* Ref.get(received)).length).toBe(3)
    }))

  it.scopedLive("a 4xx → AuthProviderError, not retried", () =>
    Effect.gen(function*() {
      const { received, url } = yield* provider([{ status: 403, body: "{}" }])
      const err = yield* Effect.flip((yield* webhook()).authenticate(request(url)))
      expect(err).toMatchObject({ _tag: "AuthProviderError", reason: "answered HTTP 403" })
      expect((yield* Ref.get(received)).length).toBe(1)
    }))

  it.scopedLive("malformed JSON → AuthProviderError", () =>
    Effect.gen(function*() {
      const { url } = yield* provider([{ status: 200, body: "{ authenticate: yes" }])
      const err = yield* Effect.flip((yield* webhook()).authenticate(request(url)))
      expect(err).toBeInstanceOf(AuthWebhook.AuthProviderError)
      expect(err.reason).toMatch(/^unreadable answer/)
    }))

  it.scopedLive("a well-formed JSON answer of the wrong shape → AuthProviderError", () =>
    Effect.gen(function*() {
      const { url } = yield* provider([{ status: 200, body: JSON.stringify({ authenticate: true, userID: "alice" }) }])
      const err = yield* Effect.flip((yield* webhook()).authenticate(request(url)))
      expect(err).toBeInstanceOf(AuthWebhook.AuthProviderError)
      expect(err.reason).toMatch(/^malformed answer/)
    }))

  it.scopedLive("a slow provider times out (each attempt), then AuthProviderError", () =>
    Effect.gen(function*() {
      const { received, url } = yield* provider([{ status: 200, body: accept, delayMs: 1_000 }])
      const err = yield* Effect.flip((yield* webhook({ timeout: "100 millis", retries: 1 })).authenticate(request(url)))
      expect(err).toMatchObject({ _tag: "AuthProviderError", reason: "timed out" })
      expect((yield* Ref.get(received)).length).toBe(2)
    }))

  it.scopedLive("an unreachable provider → AuthProviderError (transport, retried)", () =>
    Effect.gen(function*() {
      const err = yield* Effect.flip((yield* webhook({ retries: 1 })).authenticate(request("http://127.0.0.1:1/auth")))
      expect(err).toBeInstanceOf(AuthWebhook.AuthProviderError)
      expect(err.reason).toMatch(/^request failed \(Transport\)/)
    }))
})

describe("ApiKeys, PlaygroundToken, Credential", () => {
  it.effect("generate → format → parse → verify", () =>
    Effect.gen(function*() {
      const key = yield* ApiKeys.generate
      const bearer = Redacted.value(key.bearer)
      expect(bearer).toMatch(/^shoal_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/)
      expect(Redacted.value(ApiKeys.format(key.keyId, key.secret))).toBe(bearer)

      const parsed = Option.getOrThrow(ApiKeys.parse(bearer))
      expect(parsed.keyId).toBe(key.keyId)
      expect(ApiKeys.verify(parsed.secret, key.stored)).toBe(true)

      // The stored form holds no secret and is salted.
      expect(JSON.stringify(key.stored)).not.toContain(Redacted.value(key.secret))
      expect(key.stored.algorithm).toBe("sha256")
      const again = yield* ApiKeys.hash(key.secret)
      expect(again.hash).not.toBe(key.stored.hash)
      expect(ApiKeys.verify(key.secret, again)).toBe(true)
    }))

  it.effect("wrong secrets, tampered hashes and malformed bearers are refused", () =>
    Effect.gen(function*() {
      const key = yield* ApiKeys.generate
      const other = yield* ApiKeys.generate
      expect(ApiKeys.verify(other.secret, key.stored)).toBe(false)
      expect(ApiKeys.verify(key.secret, { ...key.stored, hash: other.stored.hash })).toBe(false)
      expect(ApiKeys.verify(key.secret, { ...key.stored, hash: "short" })).toBe(false)
      expect(ApiKeys.verify("", key.stored)).toBe(false)

      expect(Option.isNone(ApiKeys.parse("shoal_xyz_abc"))).toBe(true)
      expect(Option.isNone(ApiKeys.parse(`${Redacted.value(key.bearer)}x`))).toBe(true)
      expect(Option.isNone(ApiKeys.parse(`Bearer ${Redacted.value(key.bearer)}`))).toBe(true)
      expect(ApiKeys.isWellFormedSecret(Redacted.value(key.secret))).toBe(true)
    }))

  it("hashWithSalt is deterministic for a given salt", () => {
    const salt = new Uint8Array(16).fill(7)
    expect(ApiKeys.hashWithSalt("s3cret", salt)).toEqual(ApiKeys.hashWithSalt("s3cret", salt))
    expect(ApiKeys.hashWithSalt("s3cret", salt).hash).not.toBe(ApiKeys.hashWithSalt("s3cret!", salt).hash)
  })

  it.effect("playground tokens compare in constant time, any lengths", () =>
    Effect.gen(function*() {
      const token = yield* PlaygroundToken.generate
      expect(Redacted.value(token)).toMatch(/^[A-Za-z0-9_-]{43}$/)
      expect(PlaygroundToken.equals(Redacted.value(token), token)).toBe(true)
      expect(PlaygroundToken.equals(Redacted.value(yield* PlaygroundToken.generate), token)).toBe(false)
      expect(PlaygroundToken.equals("", token)).toBe(false)
      expect(PlaygroundToken.equals(`${Redacted.value(token)}x`, token)).toBe(false)
    }))

  it.effect("bearer credentials are read from the header and classified", () =>
    Effect.gen(function*() {
      const key = yield* ApiKeys.generate
      const keys = yield* AppKeys.generate
      const jwt = yield* Tokens.issue({ appId: "a", userId: "u", permissions: perms, expiresInSeconds: 60, keys })

      const from = (header: string | undefined) =>
        Option.map(Credential.fromAuthorizationHeader(header), (c) => Credential.classify(c)._tag)
      expect(from(`Bearer ${Redacted.value(key.bearer)}`)).toEqual(Option.some("ApiKey"))
      expect(from(`bearer ${jwt}`)).toEqual(Option.some("Jwt"))
      expect(from("Bearer playground-token")).toEqual(Option.some("Opaque"))
      expect(from("Basic dXNlcjpwYXNz")).toEqual(Option.none())
      expect(from(undefined)).toEqual(Option.none())

      const classified = Credential.classify(key.bearer)
      expect(classified._tag === "ApiKey" && classified.keyId === key.keyId).toBe(true)
    }))
})
