/**
 * The shared app token of `online-playground` apps: one random string per
 * app, given to every device of the app (development only — it grants
 * everything). Compared in constant time.
 */
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { createHash, randomBytes, timingSafeEqual } from "node:crypto"

/** Generates a playground token: 32 random bytes, base64url (43 characters). */
export const generate: Effect.Effect<Redacted.Redacted<string>> = Effect.sync(() =>
  Redacted.make(randomBytes(32).toString("base64url"))
)

const sha256 = (s: string): Buffer => createHash("sha256").update(s, "utf8").digest()
const reveal = (s: string | Redacted.Redacted<string>): string => (Redacted.isRedacted(s) ? Redacted.value(s) : s)

/**
 * `true` iff `given` equals `expected`, in time independent of where they
 * differ and of their lengths (both are hashed to 32 bytes first).
 */
export const equals = (given: string | Redacted.Redacted<string>, expected: string | Redacted.Redacted<string>): boolean =>
  timingSafeEqual(sha256(reveal(given)), sha256(reveal(expected)))
