/**
 * API keys: long-lived bearer credentials of one app, created by an admin
 * (`CreateApiKey`) with their own permissions.
 *
 * A key is a public `keyId` (16 hex digits, the lookup key) and a `secret`
 * (32 random bytes, base64url); the client sends `shoal_<keyId>_<secret>`.
 * Only a salted hash of the secret is stored.
 *
 * Hash choice: SHA-256 over a 16-byte random per-key salt and the secret.
 * A slow KDF (scrypt, argon2) protects *low-entropy* passwords from
 * brute force; a secret of 256 random bits cannot be brute-forced whatever
 * the hash, so a fast hash is as safe here and keeps verification of every
 * request cheap. The salt keeps equal secrets from having equal hashes.
 * Comparison is constant-time (`timingSafeEqual`).
 *
 * Pure functions and schemas; persistence is the caller's.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { createHash, randomBytes, timingSafeEqual } from "node:crypto"

/** Prefix of every API key bearer string. */
export const PREFIX = "shoal_"

/** A key id: 16 lowercase hex digits. */
export const KeyId = Schema.String.pipe(Schema.pattern(/^[0-9a-f]{16}$/), Schema.brand("ApiKeyId"))
/** See {@link KeyId}. */
export type KeyId = typeof KeyId.Type

/** How a secret is stored: `sha256(salt ‖ secret)`, salt and hash base64url. */
export const StoredHash = Schema.Struct({
  algorithm: Schema.Literal("sha256"),
  salt: Schema.String,
  hash: Schema.String
})
/** See {@link StoredHash}. */
export type StoredHash = typeof StoredHash.Type

/** A freshly generated key: give `bearer` to the user once, store `keyId` and `stored`. */
export interface GeneratedKey {
  readonly keyId: KeyId
  readonly secret: Redacted.Redacted<string>
  /** `shoal_<keyId>_<secret>`: what the client sends as `Authorization: Bearer …`. */
  readonly bearer: Redacted.Redacted<string>
  readonly stored: StoredHash
}

const SECRET_BYTES = 32
const SALT_BYTES = 16
const SECRET_PATTERN = /^[A-Za-z0-9_-]{43}$/ // 32 bytes, base64url without padding
const BEARER_PATTERN = /^shoal_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/

const digest = (salt: Buffer, secret: string): Buffer =>
  createHash("sha256").update(salt).update(secret, "utf8").digest()

/** Hashes `secret` with the given salt (deterministic; use {@link hash} for a fresh salt). */
export const hashWithSalt = (secret: string | Redacted.Redacted<string>, salt: Uint8Array): StoredHash => {
  const saltBuf = Buffer.from(salt)
  return {
    algorithm: "sha256",
    salt: saltBuf.toString("base64url"),
    hash: digest(saltBuf, Redacted.isRedacted(secret) ? Redacted.value(secret) : secret).toString("base64url")
  }
}

/** Hashes `secret` with a fresh random salt. */
export const hash = (secret: string | Redacted.Redacted<string>): Effect.Effect<StoredHash> =>
  Effect.sync(() => hashWithSalt(secret, randomBytes(SALT_BYTES)))

/** `true` iff `secret` is the one `stored` was made from (constant-time comparison). */
export const verify = (secret: string | Redacted.Redacted<string>, stored: StoredHash): boolean => {
  const expected = Buffer.from(stored.hash, "base64url")
  const actual = digest(Buffer.from(stored.salt, "base64url"), Redacted.isRedacted(secret) ? Redacted.value(secret) : secret)
  return expected.length === actual.length && timingSafeEqual(expected, actual)
}

/** The bearer string of a key: `shoal_<keyId>_<secret>`. */
export const format = (keyId: KeyId, secret: string | Redacted.Redacted<string>): Redacted.Redacted<string> =>
  Redacted.make(`${PREFIX}${keyId}_${Redacted.isRedacted(secret) ? Redacted.value(secret) : secret}`)

/** `true` if a bearer credential looks like an API key (starts with `shoal_`). */
export const isApiKey = (bearer: string): boolean => bearer.startsWith(PREFIX)

/** Splits a bearer string into key id and secret; `None` if it is not a well-formed API key. */
export const parse = (
  bearer: string | Redacted.Redacted<string>
): Option.Option<{ readonly keyId: KeyId; readonly secret: Redacted.Redacted<string> }> => {
  const m = BEARER_PATTERN.exec(Redacted.isRedacted(bearer) ? Redacted.value(bearer) : bearer)
  return m === null ? Option.none() : Option.some({ keyId: KeyId.make(m[1]!), secret: Redacted.make(m[2]!) })
}

/** `true` if `secret` has the shape of a generated secret (43 base64url characters). */
export const isWellFormedSecret = (secret: string): boolean => SECRET_PATTERN.test(secret)

/** Generates a key id, a secret, its bearer string and its stored hash. */
export const generate: Effect.Effect<GeneratedKey> = Effect.gen(function*() {
  const keyId = KeyId.make(randomBytes(8).toString("hex"))
  const secret = Redacted.make(randomBytes(SECRET_BYTES).toString("base64url"))
  return { keyId, secret, bearer: format(keyId, secret), stored: yield* hash(secret) }
})
