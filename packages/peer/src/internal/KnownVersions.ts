/**
 * What a link knows its remote has of each document, so that it sends only
 * what the remote lacks and never echoes back what the remote sent.
 *
 * A document that travelled whole is recorded as its stamp alone (its version
 * vector `{site: hlc}` is built only when asked for), and keys are nested maps
 * rather than joined strings: an initial sync records every document it
 * carries, on both sides, and both showed in profiles.
 */
import { Stamp, type VersionVector } from "@shoal/core"

type Known = VersionVector.VersionVector | Stamp.Stamp

/** What a replica holding a document written whole at `stamp` knows of it. */
export const stampVersionVector = (stamp: Stamp.Stamp): VersionVector.VersionVector => ({ [Stamp.site(stamp)]: Stamp.hlc(stamp) })

const toVv = (k: Known): VersionVector.VersionVector => (typeof k === "string" ? stampVersionVector(k) : k)

export class KnownVersions {
  private readonly byCollection = new Map<string, Map<string, Known>>()

  get(collection: string, id: string): VersionVector.VersionVector | undefined {
    const k = this.byCollection.get(collection)?.get(id)
    return k === undefined ? undefined : toVv(k)
  }

  has(collection: string, id: string): boolean {
    return this.byCollection.get(collection)?.has(id) === true
  }

  /** Record a version vector, or the stamp of a document known whole. */
  set(collection: string, id: string, known: Known): void {
    let ids = this.byCollection.get(collection)
    if (ids === undefined) this.byCollection.set(collection, (ids = new Map()))
    ids.set(id, known)
  }

  /** The raw entry (a vv or a stamp), to restore it later with `set`. */
  entry(collection: string, id: string): Known | undefined {
    return this.byCollection.get(collection)?.get(id)
  }

  delete(collection: string, id: string): void {
    this.byCollection.get(collection)?.delete(id)
  }
}
