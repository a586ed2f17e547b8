/**
 * Folding one op-log change into a document row: the only code that turns
 * ops into `docs`, used both by live commits and by replay so that replaying
 * the log rebuilds the table byte for byte.
 *
 * Rows come in two forms. A *compact* row is a document one write made whole
 * (`Document.singleStamp`): it keeps only its JSON and that stamp, and its
 * CRDT state is rebuilt on demand — most documents are inserted once or
 * received whole, and this keeps their cost close to storing plain JSON. Any
 * other document keeps its full state and version vector.
 */
import { Document, type Json, Op, Stamp, VersionVector } from "@shoal/core"

export interface DocRecord {
  readonly collection: string
  readonly id: string
  /** The CRDT state (rebuilt from the JSON for compact rows). */
  readonly state: Document.DocState
  /** The state as stored, or null for a compact row. */
  readonly stateJson: string | null
  /** The stamp of a compact row, null otherwise. */
  readonly stamp: Stamp.Stamp | null
  /**
   * What this replica knows of the document: stored, not derived from the
   * state, because writes that were overwritten leave no stamp in the state.
   */
  readonly vv: VersionVector.VersionVector
  readonly vvJson: string | null
  /** What readers see, or null when the document is removed. */
  readonly visibleJson: string | null
  readonly visible: Json.JsonObject | undefined
  readonly lastSeq: number
  /**
   * A row that is not in the file yet, whose key the writer already claimed
   * in the store's key index (`ReplicaStore.claimKey`): the commit inserts it
   * without consulting the index again.
   */
  readonly created: boolean
}

/**
 * A compact row: its state is `fromJson(visible, stamp)`, built only if asked
 * for. A class rather than an object literal with getters: millions are made
 * on bulk writes and syncs, and prototype getters allocate no closures.
 */
class CompactRecord implements DocRecord {
  readonly stateJson = null
  readonly vvJson = null
  private cachedState: Document.DocState | undefined = undefined
  private cachedVv: VersionVector.VersionVector | undefined = undefined
  constructor(
    readonly collection: string,
    readonly id: string,
    readonly visible: Json.JsonObject,
    readonly visibleJson: string,
    readonly stamp: Stamp.Stamp,
    readonly lastSeq: number,
    readonly created: boolean
  ) {}
  get state(): Document.DocState {
    return (this.cachedState ??= Document.fromJson(this.visible, this.stamp))
  }
  get vv(): VersionVector.VersionVector {
    return (this.cachedVv ??= VersionVector.ofStamp(this.stamp))
  }
}

export const compact = (
  collection: string,
  id: string,
  visible: Json.JsonObject,
  visibleJson: string,
  stamp: Stamp.Stamp,
  lastSeq: number,
  created = false
): DocRecord => new CompactRecord(collection, id, visible, visibleJson, stamp, lastSeq, created)

export const full = (
  collection: string,
  id: string,
  state: Document.DocState,
  vv: VersionVector.VersionVector,
  visible: Json.JsonObject | undefined,
  lastSeq: number,
  created = false
): DocRecord => ({
  collection,
  id,
  state,
  stateJson: JSON.stringify(state),
  stamp: null,
  vv,
  vvJson: JSON.stringify(vv),
  visibleJson: visible === undefined ? null : JSON.stringify(visible),
  visible,
  lastSeq,
  created
})

/**
 * The row after `change`. `claimed`: the document is new and its key was
 * claimed for it (see `DocRecord.created`).
 */
export const fold = (
  existing: DocRecord | undefined,
  change: Op.Change | Op.Put,
  seq: number,
  claimed = false
): DocRecord => {
  // The common case, kept cheap: a whole new document with a string id. Its
  // visible JSON is the written JSON itself (materialize keeps key order).
  if (existing === undefined && Op.isPut(change) && typeof change.put._id === "string") {
    // The op log reuses this JSON for the change (see `putJson`).
    return compact(change.collection, change.id, change.put, JSON.stringify(change.put), change.stamp, seq, claimed)
  }
  const created = existing === undefined && claimed
  const delta = Op.deltaOf(change)
  const state = existing === undefined ? delta : Document.merge(existing.state, delta)
  const learned = "vv" in change && change.vv !== undefined
    ? VersionVector.merge(change.vv, Document.versionVector(delta))
    : Document.versionVector(delta)
  const vv = existing === undefined ? learned : VersionVector.merge(existing.vv, learned)
  const parsedId: Json.Json = JSON.parse(change.id)
  const visible = Document.materialize(state, parsedId)
  const single = Document.singleStamp(state)
  if (single !== undefined && visible !== undefined && VersionVector.equals(vv, VersionVector.ofStamp(single))) {
    return compact(change.collection, change.id, visible, JSON.stringify(visible), single, seq, created)
  }
  return full(change.collection, change.id, state, vv, visible, seq, created)
}

/**
 * The JSON a record already holds for a Put's document (the op log writes it
 * instead of serializing the document again), or undefined.
 */
export const putJson = (change: Op.Change | Op.Put | Op.Eviction, record: DocRecord | undefined): string | undefined =>
  record !== undefined && "put" in change && record.visible === change.put && record.visibleJson !== null
    ? record.visibleJson
    : undefined
