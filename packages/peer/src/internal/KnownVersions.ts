/**
 * What a link knows its remote has of each document, so that it sends only
 * what the remote lacks and never echoes back what the remote sent.
 *
 * A document that travelled whole is recorded as its stamp alone (its version
 * vector `{site: hlc}` is built only when asked for), in a `DocMap`: an
 * initial sync records every document it carries, on both sides.
 */
import { type Stamp, VersionVector } from "@shoal/core"
import { DocMap } from "./DocMap.js"

type Known = VersionVector.VersionVector | Stamp.Stamp

const toVv = (k: Known): VersionVector.VersionVector => (typeof k === "string" ? VersionVector.ofStamp(k) : k)

export class KnownVersions {
  private readonly known = new DocMap<Known>()
  /**
   * Groups recorded by `setGroup`, applied (in order, before anything else)
   * only when the map is next read or written: a receiver records every
   * document of an initial sync, usually long before it looks any up.
   */
  private deferred: Array<{ readonly collection: string; readonly stamp: Stamp.Stamp; readonly ids: ReadonlyArray<string> }> = []

  private settle(): void {
    if (this.deferred.length === 0) return
    const groups = this.deferred
    this.deferred = []
    for (const g of groups) this.known.setAll(g.collection, g.ids, g.stamp)
  }

  get(collection: string, id: string): VersionVector.VersionVector | undefined {
    const k = this.entry(collection, id)
    return k === undefined ? undefined : toVv(k)
  }

  has(collection: string, id: string): boolean {
    this.settle()
    return this.known.has(collection, id)
  }

  /** Record a version vector, or the stamp of a document known whole. */
  set(collection: string, id: string, known: Known): void {
    this.settle()
    this.known.set(collection, id, known)
  }

  /** `set(collection, id, stamp)` for each id, deferred until the next access. */
  setGroup(collection: string, stamp: Stamp.Stamp, ids: ReadonlyArray<string>): void {
    this.deferred.push({ collection, stamp, ids })
  }

  /** The raw entry (a vv or a stamp), to restore it later with `set`. */
  entry(collection: string, id: string): Known | undefined {
    this.settle()
    return this.known.get(collection, id)
  }

  delete(collection: string, id: string): void {
    this.settle()
    this.known.delete(collection, id)
  }
}
