/**
 * Values by document: by collection, then by id. Nested maps rather than one
 * map of joined keys: bulk writes and initial syncs look up and set every
 * document, and joining strings per document showed in profiles.
 */
export class DocMap<V> {
  private readonly byCollection = new Map<string, Map<string, V>>()
  private count = 0

  get size(): number {
    return this.count
  }

  get(collection: string, id: string): V | undefined {
    return this.count === 0 ? undefined : this.byCollection.get(collection)?.get(id)
  }

  has(collection: string, id: string): boolean {
    return this.count > 0 && this.byCollection.get(collection)?.has(id) === true
  }

  set(collection: string, id: string, value: V): void {
    const byId = this.idsOf(collection)
    const before = byId.size
    byId.set(id, value)
    this.count += byId.size - before
  }

  /** `set(collection, id, value)` for each id (the collection's map is found once). */
  setAll(collection: string, ids: ReadonlyArray<string>, value: V): void {
    const byId = this.idsOf(collection)
    const before = byId.size
    for (const id of ids) byId.set(id, value)
    this.count += byId.size - before
  }

  private idsOf(collection: string): Map<string, V> {
    let byId = this.byCollection.get(collection)
    if (byId === undefined) this.byCollection.set(collection, (byId = new Map()))
    return byId
  }

  delete(collection: string, id: string): void {
    const byId = this.byCollection.get(collection)
    if (byId !== undefined && byId.delete(id)) this.count--
  }

  /** The values of one collection (empty when none). */
  inCollection(collection: string): ReadonlyMap<string, V> {
    return this.byCollection.get(collection) ?? NONE
  }

  forEach(f: (collection: string, id: string, value: V) => void): void {
    for (const [collection, byId] of this.byCollection) for (const [id, value] of byId) f(collection, id, value)
  }

  /** Copy every value of `other` over this one's; `other` must not be used afterwards. */
  absorb(other: DocMap<V>): void {
    if (this.count === 0) {
      // The common case (the first command of a batch): take its maps over.
      for (const [collection, byId] of other.byCollection) this.byCollection.set(collection, byId)
      this.count = other.count
      return
    }
    other.forEach((collection, id, value) => this.set(collection, id, value))
  }
}

const NONE: ReadonlyMap<string, never> = new Map<string, never>()
