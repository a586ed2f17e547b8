/**
 * Folding one op-log change into a document row: the only code that turns
 * ops into `docs`, used both by live commits and by replay so that replaying
 * the log rebuilds the table byte for byte.
 */
import { Document, type Json, type Op, VersionVector } from "@shoal/core"

export interface DocRecord {
  readonly collection: string
  readonly id: string
  readonly state: Document.DocState
  readonly stateJson: string
  /**
   * What this replica knows of the document: stored, not derived from the
   * state, because writes that were overwritten leave no stamp in the state.
   */
  readonly vv: VersionVector.VersionVector
  readonly vvJson: string
  /** What readers see, or null when the document is removed. */
  readonly visibleJson: string | null
  readonly visible: Json.JsonObject | undefined
  readonly lastSeq: number
}

export const fold = (
  existing: DocRecord | undefined,
  change: Op.Change,
  seq: number
): DocRecord => {
  const state = existing === undefined ? change.delta : Document.merge(existing.state, change.delta)
  const added = change.vv === undefined
    ? Document.versionVector(change.delta)
    : VersionVector.merge(change.vv, Document.versionVector(change.delta))
  const vv = existing === undefined ? added : VersionVector.merge(existing.vv, added)
  const id: Json.Json = JSON.parse(change.id)
  const visible = Document.materialize(state, id)
  return {
    collection: change.collection,
    id: change.id,
    state,
    stateJson: JSON.stringify(state),
    vv,
    vvJson: JSON.stringify(vv),
    visibleJson: visible === undefined ? null : JSON.stringify(visible),
    visible,
    lastSeq: seq
  }
}
