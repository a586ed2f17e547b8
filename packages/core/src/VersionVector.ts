/**
 * Per-document version vectors: site id -> highest HLC merged from that site.
 *
 * Invariant: for each site s, every write by s stamped <= vv[s] is in the
 * document state or dominated by what is. So the delta a peer at vv needs is
 * exactly the entries whose stamp is above vv[their site].
 */
import * as Schema from "effect/Schema"
import { Hlc } from "./Hlc.js"
import { hlc, site, type Stamp } from "./Stamp.js"

export const VersionVector = Schema.Record({ key: Schema.String, value: Hlc })
export type VersionVector = { readonly [site: string]: Hlc }

export const empty: VersionVector = {}

/** What a replica knows of a document written whole at `stamp`: `{site: hlc}`. */
export const ofStamp = (stamp: Stamp): VersionVector => ({ [site(stamp)]: hlc(stamp) })

/** True when `stamp` is not yet covered by `vv` (the receiver lacks it). */
export const isNew = (vv: VersionVector, stamp: Stamp): boolean => {
  const known = vv[stamp.slice(16)]
  return known === undefined || stamp.slice(0, 16) > known
}

/** Raise `vv` (mutably) to cover `stamp`. */
export const addStamp = (vv: { [site: string]: Hlc }, stamp: Stamp): void => {
  const site = stamp.slice(16)
  const h = Hlc.make(stamp.slice(0, 16))
  const known = vv[site]
  if (known === undefined || h > known) vv[site] = h
}

/** Pointwise maximum. */
export const merge = (a: VersionVector, b: VersionVector): VersionVector => {
  const out: { [site: string]: Hlc } = { ...a }
  for (const site in b) {
    const h = b[site]!
    const known = out[site]
    if (known === undefined || h > known) out[site] = h
  }
  return out
}

/** a >= b pointwise: a has seen everything b has. */
export const dominates = (a: VersionVector, b: VersionVector): boolean => {
  for (const site in b) {
    const known = a[site]
    if (known === undefined || known < b[site]!) return false
  }
  return true
}

export const equals = (a: VersionVector, b: VersionVector): boolean => dominates(a, b) && dominates(b, a)
