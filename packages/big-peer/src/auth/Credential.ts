/**
 * Reading the bearer credential of a request and telling its kind, so the
 * server can route it to the right check (API key hash, token signature,
 * playground token).
 */
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as ApiKeys from "./ApiKeys.js"

/** A bearer credential, classified by its shape (nothing is verified here). */
export type Credential =
  | { readonly _tag: "ApiKey"; readonly keyId: ApiKeys.KeyId; readonly secret: Redacted.Redacted<string> }
  | { readonly _tag: "Jwt"; readonly token: Redacted.Redacted<string> }
  | { readonly _tag: "Opaque"; readonly token: Redacted.Redacted<string> }

const JWT_PATTERN = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/

/** The credential of an `Authorization: Bearer <credential>` header value; `None` if absent or another scheme. */
export const fromAuthorizationHeader = (header: string | undefined): Option.Option<Redacted.Redacted<string>> => {
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? "")
  return m === null ? Option.none() : Option.some(Redacted.make(m[1]!))
}

/** Classifies a credential: an API key (`shoal_…`), a JWT (three base64url parts) or an opaque token. */
export const classify = (credential: Redacted.Redacted<string>): Credential => {
  const text = Redacted.value(credential)
  if (ApiKeys.isApiKey(text)) {
    const key = ApiKeys.parse(text)
    if (Option.isSome(key)) return { _tag: "ApiKey", keyId: key.value.keyId, secret: key.value.secret }
  }
  return JWT_PATTERN.test(text) ? { _tag: "Jwt", token: credential } : { _tag: "Opaque", token: credential }
}
