/**
 * A site id names one replica (one SQLite file) for ever: 64 random bits,
 * written as 16 lowercase hex digits so that it sorts and compares as text.
 */
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import * as Schema from "effect/Schema"

export const SiteId = Schema.String.pipe(Schema.pattern(/^[0-9a-f]{16}$/), Schema.brand("SiteId"))
export type SiteId = typeof SiteId.Type

const hex8 = (n: number) => (n >>> 0).toString(16).padStart(8, "0")

/** A fresh random site id (uses Effect's Random so tests can seed it). */
export const make: Effect.Effect<SiteId> = Effect.gen(function*() {
  const hi = yield* Random.nextIntBetween(0, 0x7fffffff)
  const lo = yield* Random.nextIntBetween(0, 0x7fffffff)
  const mix = yield* Random.nextIntBetween(0, 3)
  return SiteId.make(hex8(hi * 2 + (mix & 1)) + hex8(lo * 2 + (mix >> 1)))
})

export const unsafeFromString = (s: string): SiteId => SiteId.make(s)
