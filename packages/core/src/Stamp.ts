/**
 * A stamp orders every write in the system: the writer's HLC followed by its
 * site id, 32 hex digits. String order is (hlc, siteId) order, so comparing
 * stamps is comparing strings, and ties between sites break deterministically.
 */
import * as Schema from "effect/Schema"
import * as Hlc from "./Hlc.js"
import type { SiteId } from "./SiteId.js"

export const Stamp = Schema.String.pipe(Schema.pattern(/^[0-9a-f]{32}$/), Schema.brand("Stamp"))
export type Stamp = typeof Stamp.Type

// Parts of stamps and stamps from parts are well-formed by construction:
// skip the brands' regex checks on these hot paths.
const trusted = { disableValidation: true } as const

export const make = (hlc: Hlc.Hlc, site: SiteId): Stamp => Stamp.make(hlc + site, trusted)

/** The lowest possible stamp: everything sorts at or above it. */
export const none = "" as const

export const hlc = (s: Stamp): Hlc.Hlc => Hlc.Hlc.make(s.slice(0, 16), trusted)
export const site = (s: Stamp): string => s.slice(16)

export const max = <S extends string>(a: S, b: S): S => (a > b ? a : b)
