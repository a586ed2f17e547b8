/**
 * Hybrid logical clock: 48 bits of wall-clock milliseconds and a 16-bit
 * counter in one 64-bit value, written as 16 hex digits so that string order
 * is clock order (and the value survives JSON, SQLite text and msgpack).
 *
 * Monotonic whatever the wall clock does: a clock that jumps back or lags a
 * remote peer keeps the last ms and bumps the counter; when the counter
 * overflows the ms part moves forward by one.
 */
import * as Schema from "effect/Schema"

export const Hlc = Schema.String.pipe(Schema.pattern(/^[0-9a-f]{16}$/), Schema.brand("Hlc"))
export type Hlc = typeof Hlc.Type

export const MAX_COUNTER = 0xffff
export const MAX_MS = 2 ** 48 - 1

export const zero: Hlc = Hlc.make("0000000000000000")

// Built from numbers, so always well-formed: skip the brand's regex check (hot path).
const trusted = { disableValidation: true } as const

export const encode = (ms: number, counter: number): Hlc =>
  Hlc.make(Math.min(ms, MAX_MS).toString(16).padStart(12, "0") + counter.toString(16).padStart(4, "0"), trusted)

export const millis = (h: Hlc): number => parseInt(h.slice(0, 12), 16)
export const counter = (h: Hlc): number => parseInt(h.slice(12), 16)

export const max = (a: Hlc, b: Hlc): Hlc => (a > b ? a : b)

/** Mutable clock state owned by one replica (the single writer). */
export interface Clock {
  last: Hlc
}

export const makeClock = (last: Hlc = zero): Clock => ({ last })

const after = (ms: number, c: number): Hlc =>
  c >= MAX_COUNTER ? encode(ms + 1, 0) : encode(ms, c + 1)

/** The next stamp for a local event at wall time `now` (ms). */
export const tick = (clock: Clock, now: number): Hlc => {
  const lastMs = millis(clock.last)
  const next = now > lastMs ? encode(now, 0) : after(lastMs, counter(clock.last))
  clock.last = next
  return next
}

/** Fold a remote stamp into the clock so later local stamps sort after it. */
export const observe = (clock: Clock, remote: Hlc): void => {
  if (remote > clock.last) clock.last = remote
}
