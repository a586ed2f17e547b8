/**
 * `LinkAuth` for small peers (what they pass to `Sync.layer({ auth })`).
 *
 * - {@link signedToken} (online-with-authentication): present the token from
 *   `POST /{appId}/auth/login`; admit a remote only with a valid token of the
 *   same app, verified offline with the app's public key (also returned by
 *   login), and enforce the remote's permissions on the link (never send what
 *   it may not read, refuse what it may not write). A link ends with
 *   `Reject "token expired"` when the remote's token expires.
 * - {@link playground} (online-playground): present the shared app token,
 *   admit remotes that present the same.
 *
 * These only need the app's public key, never a private key: any peer can
 * check any other. (They belong next to `Link` in `@shoal/peer` once the
 * token module moves there; they live here because `Tokens` does.)
 */
import { Permissions } from "@shoal/core"
import { Link } from "@shoal/peer"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import type * as jose from "jose"
import { grantOf } from "./Access.js"
import { AppKeys, PlaygroundToken, Tokens } from "./auth/index.js"

export interface SignedTokenOptions {
  readonly appId: string
  /** This peer's token; an Effect to hand out a refreshed one on each new link. */
  readonly token: string | Effect.Effect<string>
  /** The app's public key (`publicKey` of the login answer, or `GET /{appId}/auth/public-key`). */
  readonly publicKey: AppKeys.PublicJwk
}

/** Verifies a remote's Hello token and turns its permissions into a link grant. */
export const admitSigned = (appId: string, publicKey: jose.CryptoKey) => (token: string | undefined) =>
  Effect.gen(function*() {
    if (token === undefined) return yield* Effect.fail("missing token")
    const verified = yield* Tokens.verify(token, { appId, publicKey }).pipe(
      Effect.mapError((e) => (e._tag === "TokenExpired" ? "token expired" : e.message))
    )
    const compiled = Permissions.compile(verified.permissions)
    if (compiled._tag === "Left") return yield* Effect.fail(`invalid token: ${compiled.left.message}`)
    return grantOf({ userId: verified.userId, permissions: compiled.right, expiresAt: verified.expiresAt.getTime() })
  })

/** Signed-token auth of a small peer (see the module documentation). */
export const signedToken = (options: SignedTokenOptions): Effect.Effect<Link.LinkAuth, AppKeys.KeyError> =>
  Effect.map(AppKeys.importPublicKey(options.publicKey), (key) => {
    const admit = admitSigned(options.appId, key)
    return {
      token: typeof options.token === "string" ? Effect.succeed(options.token) : options.token,
      admit: (hello) => admit(hello.token)
    }
  })

/** Shared-token auth of a small peer of an online-playground app. */
export const playground = (token: string | Redacted.Redacted<string>): Link.LinkAuth => ({
  token: Effect.succeed(Redacted.isRedacted(token) ? Redacted.value(token) : token),
  admit: (hello) =>
    hello.token !== undefined && PlaygroundToken.equals(hello.token, token)
      ? Effect.succeed(Link.allowAll)
      : Effect.fail(hello.token === undefined ? "missing token" : "invalid token")
})
