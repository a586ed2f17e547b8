/**
 * An op is one committed transaction of a replica: the unit of the op log,
 * of replay and of change data capture.
 *
 * `seq` is the replica's own gap-free commit order (assigned only by the
 * Replica actor). `txnId` names the transaction everywhere (`<site>:<seq>` of
 * the replica that committed it), so consumers can dedupe on `(txnId, _id)`.
 * Local writes and merged remote deltas both append ops; an EVICT appends an
 * op too (it is local only, never synced) so that replaying the log rebuilds
 * the same `docs` table.
 */
import * as Schema from "effect/Schema"
import { type DocState, DocStateSchema, fromJson } from "./Document.js"
import { JsonObject } from "./Json.js"
import { Stamp } from "./Stamp.js"
import { Hlc } from "./Hlc.js"
import { SiteId } from "./SiteId.js"
import * as VersionVector from "./VersionVector.js"

export const Change = Schema.Struct({
  collection: Schema.String,
  /** Canonical JSON of the document's `_id`. */
  id: Schema.String,
  delta: DocStateSchema,
  /**
   * What the replica knows of the document once this change is merged, when
   * it is more than the delta's own stamps (a remote's version vector: writes
   * it overwrote leave no stamp in the state but are still known).
   */
  vv: Schema.optionalWith(VersionVector.VersionVector, { exact: true })
})
export type Change = typeof Change.Type

/**
 * A whole document written at one stamp (an INSERT, or a document received
 * whole): the delta is `Document.fromJson(put, stamp)`. Kept as plain JSON so
 * the op log stays about the size of the data.
 */
export const Put = Schema.Struct({
  collection: Schema.String,
  id: Schema.String,
  put: JsonObject,
  stamp: Stamp
})
export type Put = typeof Put.Type

export const Eviction = Schema.Struct({
  collection: Schema.String,
  id: Schema.String,
  evict: Schema.Literal(true)
})
export type Eviction = typeof Eviction.Type

export const Origin = Schema.Literal("local", "sync")
export type Origin = typeof Origin.Type

export const Op = Schema.Struct({
  seq: Schema.NonNegativeInt,
  txnId: Schema.String,
  siteId: SiteId,
  hlc: Hlc,
  origin: Origin,
  /** For sync ops: the remote site whose deltas this op merged. */
  from: Schema.optionalWith(SiteId, { exact: true }),
  changes: Schema.Array(Schema.Union(Change, Put, Eviction))
})
export type Op = typeof Op.Type

export const isEviction = (c: Change | Put | Eviction): c is Eviction => "evict" in c

export const isPut = (c: Change | Put | Eviction): c is Put => "put" in c

/** The CRDT delta a change carries. */
export const deltaOf = (c: Change | Put): DocState => ("put" in c ? fromJson(c.put, c.stamp) : c.delta)

export const txnId = (site: SiteId, seq: number): string => `${site}:${seq}`
