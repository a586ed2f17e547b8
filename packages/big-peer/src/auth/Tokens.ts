/**
 * Shoal access tokens: compact JWTs signed with the app's Ed25519 key
 * (`alg: "Ed25519"`), issuer `"shoal"`, audience the app id, subject the user
 * id, and the user's {@link Permissions.Permissions} in the `perms` claim.
 *
 * The Big Peer issues them after the auth webhook accepted a user; every
 * peer verifies them with the app's public key only ({@link verify} needs no
 * private key), so small peers can check each other offline.
 *
 * Time comes from Effect's `Clock` (both for `iat`/`exp` and for the expiry
 * check), so tests can drive it with `TestClock`.
 */
import { Permissions } from "@shoal/core"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as jose from "jose"
import { ALG, KeyError } from "./AppKeys.js"

/** The `iss` claim of every Shoal token. */
export const ISSUER = "shoal"

/** The token's `exp` is in the past. */
export class TokenExpired extends Schema.TaggedError<TokenExpired>()("TokenExpired", {
  /** When the token expired. */
  expiredAt: Schema.DateFromNumber
}) {
  /** `token expired at <ISO time>` */
  override get message(): string {
    return `token expired at ${this.expiredAt.toISOString()}`
  }
}

/** The token is malformed, not signed by this app's key, not meant for this app, or carries bad claims. */
export class TokenInvalid extends Schema.TaggedError<TokenInvalid>()("TokenInvalid", {
  reason: Schema.String
}) {
  /** `invalid token: <reason>` */
  override get message(): string {
    return `invalid token: ${this.reason}`
  }
}

/** The claims of a Shoal token, checked with Schema after jose checked the signature and the registered claims. */
export const Claims = Schema.Struct({
  iss: Schema.Literal(ISSUER),
  sub: Schema.String,
  aud: Schema.String,
  iat: Schema.Number,
  exp: Schema.Number,
  perms: Permissions.Permissions
})
/** See {@link Claims}. */
export type Claims = typeof Claims.Type

/** What a valid token grants. */
export interface Verified {
  readonly appId: string
  readonly userId: string
  readonly permissions: Permissions.Permissions
  readonly expiresAt: Date
}

/** Options of {@link issue}. */
export interface IssueOptions {
  readonly appId: string
  readonly userId: string
  readonly permissions: Permissions.Permissions
  /** Lifetime from now (≤ 0 issues an already expired token, for tests). */
  readonly expiresInSeconds: number
  /** The app's keys; only the private key is used. */
  readonly keys: { readonly privateKey: jose.CryptoKey }
}

/** Signs a token for `userId` of `appId` carrying `permissions`. */
export const issue = (options: IssueOptions): Effect.Effect<string, KeyError> =>
  Effect.flatMap(Clock.currentTimeMillis, (now) => {
    const iat = Math.floor(now / 1000)
    const perms = Schema.encodeSync(Permissions.Permissions)(options.permissions)
    return Effect.tryPromise({
      try: () =>
        new jose.SignJWT({ perms })
          .setProtectedHeader({ alg: ALG, typ: "JWT" })
          .setIssuer(ISSUER)
          .setSubject(options.userId)
          .setAudience(options.appId)
          .setIssuedAt(iat)
          .setExpirationTime(iat + Math.trunc(options.expiresInSeconds))
          .sign(options.keys.privateKey),
      catch: (e) => new KeyError({ reason: `cannot sign token: ${e instanceof Error ? e.message : String(e)}` })
    })
  })

/** Options of {@link verify}. */
export interface VerifyOptions {
  /** The app the token must be issued for (`aud`). */
  readonly appId: string
  /** The app's public key. */
  readonly publicKey: jose.CryptoKey
  /** Accepted clock skew between issuer and verifier (default 0). */
  readonly clockToleranceSeconds?: number
}

const describe = (e: unknown, appId: string): string => {
  if (e instanceof jose.errors.JWTClaimValidationFailed) {
    return e.claim === "aud" ? `not issued for app ${JSON.stringify(appId)}` : `claim ${e.claim}: ${e.reason}`
  }
  if (e instanceof jose.errors.JWSSignatureVerificationFailed) return "signature verification failed"
  if (e instanceof jose.errors.JOSEAlgNotAllowed) return "signing algorithm not allowed"
  if (e instanceof jose.errors.JWSInvalid || e instanceof jose.errors.JWTInvalid) return `malformed token: ${e.message}`
  return e instanceof Error ? e.message : String(e)
}

/**
 * Verifies a token with the app's public key: signature, algorithm, issuer,
 * audience (= `appId`), expiry, and the shape of the claims.
 */
export const verify = (token: string, options: VerifyOptions): Effect.Effect<Verified, TokenExpired | TokenInvalid> =>
  Effect.flatMap(Clock.currentTimeMillis, (now) =>
    Effect.tryPromise({
      try: () =>
        jose.jwtVerify(token, options.publicKey, {
          algorithms: [ALG],
          issuer: ISSUER,
          audience: options.appId,
          currentDate: new Date(now),
          clockTolerance: options.clockToleranceSeconds ?? 0,
          requiredClaims: ["sub", "exp", "iat"]
        }),
      catch: (e): TokenExpired | TokenInvalid =>
        e instanceof jose.errors.JWTExpired
          ? new TokenExpired({ expiredAt: new Date(Number(e.payload.exp ?? 0) * 1000) })
          : new TokenInvalid({ reason: describe(e, options.appId) })
    })).pipe(
      Effect.flatMap(({ payload }) =>
        Schema.decodeUnknown(Claims)(payload).pipe(
          Effect.mapError((e) => new TokenInvalid({ reason: `bad claims: ${e.message}` }))
        )
      ),
      Effect.map((claims): Verified => ({
        appId: claims.aud,
        userId: claims.sub,
        permissions: claims.perms,
        expiresAt: new Date(claims.exp * 1000)
      }))
    )

/**
 * Reads the claims of a token WITHOUT verifying it (for diagnostics and
 * routing, e.g. to find which app a token names). Never use the result for
 * access decisions.
 */
export const unsafeDecode = (token: string): Effect.Effect<Claims, TokenInvalid> =>
  Effect.try({
    try: () => jose.decodeJwt(token),
    catch: (e) => new TokenInvalid({ reason: `malformed token: ${e instanceof Error ? e.message : String(e)}` })
  }).pipe(
    Effect.flatMap((payload) =>
      Schema.decodeUnknown(Claims)(payload).pipe(
        Effect.mapError((e) => new TokenInvalid({ reason: `bad claims: ${e.message}` }))
      )
    )
  )
