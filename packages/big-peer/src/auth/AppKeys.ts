/**
 * Per-app signing keys: an Ed25519 key pair (jose 6, WebCrypto). The Big Peer
 * signs the app's tokens with the private key; every peer verifies them with
 * the public key alone. Keys are stored in the app's metadata as JWK JSON
 * ({@link StoredKeys}); the public half ({@link PublicJwk}) is what small
 * peers receive.
 */
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as jose from "jose"

/** The JWS algorithm of every Shoal token (RFC 9864 fully-specified name; `"EdDSA"` is not accepted). */
export const ALG: "Ed25519" = "Ed25519"

/** A key could not be generated, exported or imported (corrupt metadata, wrong key type). */
export class KeyError extends Schema.TaggedError<KeyError>()("KeyError", {
  reason: Schema.String
}) {
  /** `app key error: <reason>` */
  override get message(): string {
    return `app key error: ${this.reason}`
  }
}

/** The public half of an app key as a JWK (`{ kty: "OKP", crv: "Ed25519", x }`). */
export const PublicJwk = Schema.Struct({
  kty: Schema.Literal("OKP"),
  crv: Schema.Literal("Ed25519"),
  x: Schema.String
})
/** See {@link PublicJwk}. */
export type PublicJwk = typeof PublicJwk.Type

/** The private half of an app key as a JWK (`d` is the secret). */
export const PrivateJwk = Schema.Struct({
  kty: Schema.Literal("OKP"),
  crv: Schema.Literal("Ed25519"),
  x: Schema.String,
  d: Schema.Redacted(Schema.String)
})
/** See {@link PrivateJwk}. */
export type PrivateJwk = typeof PrivateJwk.Type

/** An app's key pair as stored in its metadata (JSON-encodable with `Schema.encode(StoredKeys)`). */
export const StoredKeys = Schema.Struct({
  alg: Schema.Literal(ALG),
  publicKey: PublicJwk,
  privateKey: PrivateJwk
})
/** See {@link StoredKeys}. */
export type StoredKeys = typeof StoredKeys.Type

/** {@link StoredKeys} to/from a JSON string (for a TEXT metadata column). */
export const StoredKeysFromJson = Schema.parseJson(StoredKeys)

/** A usable key pair. The private key is extractable so that it can be stored. */
export interface AppKeys {
  readonly publicKey: jose.CryptoKey
  readonly privateKey: jose.CryptoKey
}

const reasonOf = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/** Generates a fresh Ed25519 key pair for an app. */
export const generate: Effect.Effect<AppKeys, KeyError> = Effect.tryPromise({
  try: () => jose.generateKeyPair(ALG, { extractable: true }),
  catch: (e) => new KeyError({ reason: `cannot generate key pair: ${reasonOf(e)}` })
})

const exportJwk = (key: jose.CryptoKey) =>
  Effect.tryPromise({
    try: () => jose.exportJWK(key),
    catch: (e) => new KeyError({ reason: `cannot export key: ${reasonOf(e)}` })
  })

const decodeOr = <A, I>(schema: Schema.Schema<A, I>, what: string) => (input: unknown) =>
  Schema.decodeUnknown(schema)(input).pipe(
    Effect.mapError((e) => new KeyError({ reason: `${what}: ${e.message}` }))
  )

/** The public key as a JWK (what small peers are given). */
export const exportPublicKey = (publicKey: jose.CryptoKey): Effect.Effect<PublicJwk, KeyError> =>
  Effect.flatMap(exportJwk(publicKey), decodeOr(PublicJwk, "not an Ed25519 public key"))

/** Exports a key pair for storage. Fails if the private key is not extractable. */
export const exportKeys = (keys: AppKeys): Effect.Effect<StoredKeys, KeyError> =>
  Effect.all({
    alg: Effect.succeed(ALG),
    publicKey: exportPublicKey(keys.publicKey),
    privateKey: Effect.flatMap(exportJwk(keys.privateKey), decodeOr(PrivateJwk, "not an Ed25519 private key"))
  })

/** Imports a public key (to verify tokens). */
export const importPublicKey = (jwk: PublicJwk): Effect.Effect<jose.CryptoKey, KeyError> =>
  Effect.tryPromise({
    try: () => jose.importJWK({ kty: jwk.kty, crv: jwk.crv, x: jwk.x }, ALG),
    catch: (e) => new KeyError({ reason: `cannot import public key: ${reasonOf(e)}` })
  })

/** Imports a stored key pair (to sign and verify). The private key stays extractable so it can be re-exported. */
export const importKeys = (stored: StoredKeys): Effect.Effect<AppKeys, KeyError> =>
  Effect.all({
    publicKey: importPublicKey(stored.publicKey),
    privateKey: Effect.tryPromise({
      try: () =>
        jose.importJWK(
          {
            kty: stored.privateKey.kty,
            crv: stored.privateKey.crv,
            x: stored.privateKey.x,
            d: Redacted.value(stored.privateKey.d)
          },
          ALG,
          { extractable: true }
        ),
      catch: (e) => new KeyError({ reason: `cannot import private key: ${reasonOf(e)}` })
    })
  })
