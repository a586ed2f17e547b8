/**
 * Who is calling and what they may do: one place that turns a bearer
 * credential (HTTP `Authorization`, RPC header, or the `token` of a sync
 * `Hello`) into a principal and its permissions, for every API.
 *
 * Credentials, checked in this order:
 * - the admin key (`SHOAL_ADMIN_KEY`): everything, every app;
 * - an API key `shoal_<keyId>_<secret>`: its app, its permissions (hash checked);
 * - a signed token (JWT, `POST /{appId}/auth/login`): its app (`aud`), the
 *   permissions it carries, until it expires;
 * - an opaque string: the shared token of an `online-playground` app.
 *
 * `offline-playground` apps take anyone: no credential needed, everything allowed.
 */
import { Api, Errors } from "@shoal/client"
import { Permissions } from "@shoal/core"
import { Link } from "@shoal/peer"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import { type AppRecord, Apps } from "./Apps.js"
import { ApiKeys, AppKeys, AuthWebhook, Credential, PlaygroundToken, Tokens } from "./auth/index.js"
import { BigPeerSettings } from "./Config.js"

/** What a caller may do in one app. */
export interface Access {
  readonly userId: string
  readonly permissions: Permissions.Compiled
  /** Epoch ms when the credential expires (signed tokens). */
  readonly expiresAt?: number
}

/** A verified credential. */
export interface Authenticated {
  readonly principal: Api.Principal
  readonly expiresAt?: number
}

/** Everything allowed (admin, offline-playground, playground token). */
export const fullAccess = (userId: string): Access => ({ userId, permissions: Permissions.compiledAll })

/** The principal of an RPC call without a credential: no app, no permission (enough for offline-playground apps). */
export const anonymous: Api.AppPrincipal = { kind: "app", appId: "", userId: "anonymous", permissions: Permissions.none }

/** The answer of `POST /{appId}/auth/login`. */
export interface LoginResult {
  /** The signed token: `Authorization: Bearer <token>` and the `token` of a sync `Hello`. */
  readonly token: string
  readonly userId: string
  readonly expiresAt: string
  readonly expirationSeconds: number
  readonly permissions: Permissions.Permissions
  /** The app's public key: any peer verifies tokens of this app with it. */
  readonly publicKey: AppKeys.PublicJwk
}

/** How long a verified credential is trusted without checking it again. */
export const VERIFIED_TTL_MS = 30_000

const unauthorized = (message: string) => new Errors.Unauthorized({ message })

/**
 * The sync grant of an access: what the remote may read and write over a link.
 *
 * A removed document (`doc === undefined`) is sent only to readers of
 * everything: its state still holds the hidden fields it had before removal,
 * and the Link sends the full state to a remote that never had it, so a
 * predicate reader could learn content it may not read. Consequence: a
 * removal reaches restricted readers only once the Link sends bare
 * tombstones (see docs/big-peer.md, "Known limitations").
 */
export const grantOf = (access: Access): Link.RemoteGrant => ({
  userId: access.userId,
  canRead: (collection, doc) =>
    doc === undefined ? access.permissions.read.everything : Permissions.canRead(access.permissions, collection, doc),
  canWrite: (collection, before, after) => Permissions.canWrite(access.permissions, collection, before, after),
  ...(access.expiresAt === undefined ? {} : { expiresAt: access.expiresAt })
})

const make = Effect.gen(function*() {
  const apps = yield* Apps
  const settings = yield* BigPeerSettings
  const webhook = yield* AuthWebhook.AuthWebhook

  const compiledCache = new Map<string, Permissions.Compiled>()
  // By object first: a verified credential is cached (`verified`), so every
  // call of one caller brings the same permissions object (no JSON per call).
  const compiledOf = new WeakMap<Permissions.Permissions, Permissions.Compiled>()
  const compile = (permissions: Permissions.Permissions): Effect.Effect<Permissions.Compiled, Errors.Unauthorized> => {
    const known = compiledOf.get(permissions)
    if (known !== undefined) return Effect.succeed(known)
    const key = JSON.stringify(permissions)
    const hit = compiledCache.get(key)
    if (hit !== undefined) {
      compiledOf.set(permissions, hit)
      return Effect.succeed(hit)
    }
    const compiled = Permissions.compile(permissions)
    if (compiled._tag === "Left") return Effect.fail(unauthorized(`credential carries invalid permissions: ${compiled.left.message}`))
    if (compiledCache.size >= 1024) compiledCache.clear()
    compiledCache.set(key, compiled.right)
    compiledOf.set(permissions, compiled.right)
    return Effect.succeed(compiled.right)
  }

  const isAdminKey = (credential: Redacted.Redacted<string>) =>
    Option.exists(settings.adminKey, (admin) => PlaygroundToken.equals(credential, admin))

  const viaApiKey = (keyId: ApiKeys.KeyId, secret: Redacted.Redacted<string>) =>
    Effect.flatMap(apps.findApiKey(keyId), (found) =>
      Option.isSome(found) && ApiKeys.verify(secret, found.value.stored)
        ? Effect.succeed<Authenticated>({
          principal: {
            kind: "app",
            appId: found.value.appId,
            userId: `apikey:${found.value.keyId}`,
            permissions: found.value.permissions
          }
        })
        : Effect.fail(unauthorized("invalid API key")))

  const viaToken = (token: Redacted.Redacted<string>, appHint: Option.Option<string>) =>
    Effect.gen(function*() {
      const text = Redacted.value(token)
      const appId = Option.isSome(appHint)
        ? appHint.value
        : (yield* Tokens.unsafeDecode(text).pipe(Effect.mapError((e) => unauthorized(e.message)))).aud
      const app = yield* Effect.flatMap(apps.find(appId), Option.match({
        onNone: () => Effect.fail(unauthorized(`invalid token: not issued for an app of this server`)),
        onSome: Effect.succeed
      }))
      const keys = yield* apps.keysOf(app)
      const verified = yield* Tokens.verify(text, { appId: app.appId, publicKey: keys.publicKey }).pipe(
        Effect.mapError((e) => unauthorized(e._tag === "TokenExpired" ? "token expired" : e.message))
      )
      return {
        principal: { kind: "app", appId: app.appId, userId: verified.userId, permissions: verified.permissions },
        expiresAt: verified.expiresAt.getTime()
      } satisfies Authenticated
    })

  const playground = (app: AppRecord): Authenticated => ({
    principal: { kind: "app", appId: app.appId, userId: "playground", permissions: Permissions.all }
  })

  const viaOpaque = (token: Redacted.Redacted<string>, appHint: Option.Option<string>) =>
    Effect.gen(function*() {
      if (Option.isSome(appHint)) {
        const app = yield* apps.find(appHint.value)
        if (
          Option.isSome(app) &&
          Option.exists(app.value.playgroundToken, (expected) => PlaygroundToken.equals(token, expected))
        ) return playground(app.value)
        return yield* unauthorized("invalid credential")
      }
      const app = yield* apps.findByPlaygroundToken(token)
      return Option.isSome(app) ? playground(app.value) : yield* unauthorized("invalid credential")
    })

  const verify = (
    credential: Redacted.Redacted<string>,
    appHint: Option.Option<string>
  ): Effect.Effect<Authenticated, Errors.Unauthorized> => {
    if (isAdminKey(credential)) return Effect.succeed({ principal: { kind: "admin" } })
    const classified = Credential.classify(credential)
    switch (classified._tag) {
      case "ApiKey":
        return viaApiKey(classified.keyId, classified.secret)
      case "Jwt":
        return viaToken(classified.token, appHint)
      case "Opaque":
        return viaOpaque(classified.token, appHint)
    }
  }

  /**
   * Verified credentials, for a short while (RPC checks every message):
   * {@link VERIFIED_TTL_MS} at most, never past a token's expiry. Failures
   * are not cached.
   */
  const verified = new Map<string, { readonly who: Authenticated; readonly until: number }>()

  /**
   * Verifies a credential. `appHint` is the app the request names (URL
   * path, RPC payload, sync endpoint): it picks the key and token to check.
   */
  const authenticate = (
    credential: Redacted.Redacted<string>,
    appHint: Option.Option<string> = Option.none()
  ): Effect.Effect<Authenticated, Errors.Unauthorized> => {
    const key = `${Option.getOrElse(appHint, () => "")}\u0000${Redacted.value(credential)}`
    const now = Date.now()
    const hit = verified.get(key)
    if (hit !== undefined && hit.until > now) return Effect.succeed(hit.who)
    return Effect.tap(verify(credential, appHint), (who) =>
      Effect.sync(() => {
        if (verified.size >= 10_000) verified.clear()
        verified.set(key, { who, until: Math.min(now + VERIFIED_TTL_MS, who.expiresAt ?? Infinity) })
      }))
  }

  /**
   * Access to the app a request names (HTTP path, sync endpoint): 404 for an
   * unknown app, 401 for a missing or bad credential or one of another app.
   */
  const accessTo = (
    appId: string,
    credential: Option.Option<Redacted.Redacted<string>>
  ): Effect.Effect<{ readonly app: AppRecord; readonly access: Access }, Errors.AppNotFound | Errors.Unauthorized> =>
    Effect.gen(function*() {
      const app = yield* apps.get(appId)
      if (app.identityMode === "offline-playground") return { app, access: fullAccess("anonymous") }
      if (Option.isNone(credential)) {
        return yield* unauthorized("missing credential: send Authorization: Bearer <token or API key>")
      }
      const who = yield* authenticate(credential.value, Option.some(appId))
      return { app, access: yield* accessOf(who, app) }
    })

  const accessOf = (who: Authenticated, app: AppRecord): Effect.Effect<Access, Errors.Unauthorized> => {
    const p = who.principal
    if (p.kind === "admin") return Effect.succeed(fullAccess("admin"))
    if (p.appId !== app.appId) return Effect.fail(unauthorized(`credential is not valid for app ${JSON.stringify(app.appId)}`))
    return Effect.map(compile(p.permissions), (permissions) => ({
      userId: p.userId,
      permissions,
      ...(who.expiresAt === undefined ? {} : { expiresAt: who.expiresAt })
    }))
  }

  /** Access of an RPC principal to an app named in the payload (403 when it may not use that app). */
  const accessFor = (
    principal: Api.Principal,
    appId: string
  ): Effect.Effect<{ readonly app: AppRecord; readonly access: Access }, Errors.AppNotFound | Errors.Forbidden> =>
    Effect.gen(function*() {
      const app = yield* apps.get(appId)
      if (principal.kind === "admin") return { app, access: fullAccess("admin") }
      if (principal.appId === appId) {
        const permissions = yield* compile(principal.permissions).pipe(
          Effect.mapError((e) => new Errors.Forbidden({ message: e.message }))
        )
        return { app, access: { userId: principal.userId, permissions } }
      }
      if (app.identityMode === "offline-playground") return { app, access: fullAccess("anonymous") }
      return yield* new Errors.Forbidden({
        message: principal.appId === ""
          ? `app ${JSON.stringify(appId)} needs a credential`
          : `credential is not valid for app ${JSON.stringify(appId)}`
      })
    })

  /** Exchanges a provider credential for a signed token (online-with-authentication apps). */
  const login = (
    appId: string,
    request: { readonly provider: string; readonly token: string }
  ): Effect.Effect<
    LoginResult,
    Errors.AppNotFound | Errors.InvalidRequest | Errors.Unauthorized | AuthWebhook.AuthProviderError
  > =>
    Effect.gen(function*() {
      const app = yield* apps.get(appId)
      if (app.identityMode !== "online-with-authentication" || Option.isNone(app.authWebhookUrl)) {
        return yield* new Errors.InvalidRequest({
          message: `app ${JSON.stringify(appId)} is ${app.identityMode}: login applies to online-with-authentication apps`
        })
      }
      const user = yield* webhook.authenticate({
        appId,
        url: app.authWebhookUrl.value,
        provider: request.provider,
        token: Redacted.make(request.token)
      }).pipe(Effect.catchTag("AuthRejected", (e) => Effect.fail(unauthorized(e.message))))
      const compiled = Permissions.compile(user.permissions)
      if (compiled._tag === "Left") {
        return yield* new AuthWebhook.AuthProviderError({
          appId,
          provider: request.provider,
          reason: `the webhook answered invalid permissions: ${compiled.left.message}`
        })
      }
      const keys = yield* apps.keysOf(app)
      const token = yield* Tokens.issue({
        appId,
        userId: user.userId,
        permissions: user.permissions,
        expiresInSeconds: user.expirationSeconds,
        keys
      }).pipe(Effect.orDie)
      const claims = yield* Tokens.unsafeDecode(token).pipe(Effect.orDie)
      return {
        token,
        userId: user.userId,
        expiresAt: new Date(claims.exp * 1000).toISOString(),
        expirationSeconds: user.expirationSeconds,
        permissions: user.permissions,
        publicKey: app.keys.publicKey
      }
    }).pipe(Effect.withSpan("BigPeer.login", { attributes: { appId, provider: request.provider } }))

  /**
   * How the Big Peer authenticates sync links of an app: it checks the
   * remote's `Hello` token like any bearer credential and builds the grant
   * from its permissions; it presents the playground token, or a signed
   * token of its own (all permissions, refreshed at half its lifetime).
   */
  const linkAuth = (app: AppRecord): Effect.Effect<Link.LinkAuth> =>
    Effect.gen(function*() {
      const cached = yield* Ref.make(Option.none<{ readonly token: string; readonly refreshAt: number }>())
      const lifetime = Duration.toSeconds(settings.peerTokenLifetime)
      const ownToken: Effect.Effect<string | undefined> = app.identityMode === "offline-playground"
        ? Effect.succeed(undefined)
        : app.identityMode === "online-playground"
        ? Effect.succeed(Option.getOrUndefined(Option.map(app.playgroundToken, Redacted.value)))
        : Effect.gen(function*() {
          const now = Date.now()
          const current = yield* Ref.get(cached)
          if (Option.isSome(current) && current.value.refreshAt > now) return current.value.token
          const keys = yield* apps.keysOf(app)
          const token = yield* Tokens.issue({
            appId: app.appId,
            userId: "big-peer",
            permissions: Permissions.all,
            expiresInSeconds: lifetime,
            keys
          }).pipe(Effect.orDie)
          yield* Ref.set(cached, Option.some({ token, refreshAt: now + (lifetime * 1000) / 2 }))
          return token
        })
      return {
        token: ownToken,
        admit: (hello) =>
          hello.token === undefined && app.identityMode !== "offline-playground"
            ? Effect.fail("missing token")
            : accessTo(app.appId, Option.map(Option.fromNullable(hello.token), Redacted.make)).pipe(
              Effect.map(({ access }) => grantOf(access)),
              Effect.mapError((e) => e.message)
            )
      } satisfies Link.LinkAuth
    })

  return { authenticate, accessTo, accessFor, login, linkAuth, compile }
})

/** See the module documentation. */
export type AccessShape = Effect.Effect.Success<typeof make>

/** Credential checks and permissions of every API. */
export class AccessControl extends Context.Tag("@shoal/big-peer/AccessControl")<AccessControl, AccessShape>() {
  static readonly layer: Layer.Layer<AccessControl, never, Apps | BigPeerSettings | AuthWebhook.AuthWebhook> = Layer
    .effect(AccessControl, make)
}
