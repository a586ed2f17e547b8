import { describe, expect, it } from "@effect/vitest"
import { Hlc, type Json, type Op, SiteId, Stamp } from "@shoal/core"
import * as Effect from "effect/Effect"
import { FastCheck as fc } from "effect"
import * as Either from "effect/Either"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type Commit, DocFold, ReplicaStore } from "../src/index.js"

const site = SiteId.unsafeFromString("00000000000000aa")
const stamp = Stamp.make(Hlc.encode(1_700_000_000_000, 1), site)

/** A local op putting whole documents, with its rows, as the Replica actor builds it. */
const putCommit = (seq: number, collection: string, docs: ReadonlyArray<Json.JsonObject>): Commit => {
  const changes: Array<Op.Put> = docs.map((doc) => ({ collection, id: JSON.stringify(doc._id), put: doc, stamp }))
  const rows = changes.map((c) => DocFold.fold(undefined, c, seq))
  return {
    op: { seq, txnId: `${site}:${seq}`, siteId: site, hlc: Hlc.encode(1_700_000_000_000, seq), origin: "local", changes },
    docs: rows,
    evicted: [],
    putJson: changes.map((c, i) => DocFold.putJson(c, rows[i]))
  }
}

// Text that JSON escapes, and text that it does not.
const awkward = (i: number): Json.JsonObject => ({
  _id: `k${i}"\\\u2028é`,
  text: `line\nbreak\ttab "quoted" \u0000 ${"😀".repeat(i % 3)}`,
  n: i / 7,
  nested: { list: [i, null, true, { deep: `${i}` }] }
})

describe("ReplicaStore", () => {
  it.scoped("many new documents in one commit (the bulk path) keep their exact JSON and ids", () =>
    Effect.gen(function*() {
      const store = yield* ReplicaStore.make({ filename: "memory" })
      const docs = Array.from({ length: 50 }, (_, i) => awkward(i))
      yield* store.commit([putCommit(1, "c", docs), putCommit(2, "small", docs.slice(0, 3))])
      for (const doc of docs) {
        const row = store.lookupDoc("c", JSON.stringify(doc._id))
        expect(row?.visibleJson).toBe(JSON.stringify(doc))
        expect(row?.stamp).toBe(stamp)
        expect(row?.lastSeq).toBe(1)
      }
      expect(store.lookupDoc("small", JSON.stringify(docs[2]!._id))?.visibleJson).toBe(JSON.stringify(docs[2]))
      // The op log holds the same documents.
      const ops = yield* store.readOps(0, 10)
      expect(ops[0]!.changes.map((c) => ("put" in c ? c.put : undefined))).toEqual(docs)
      expect(yield* store.countCollection("c")).toBe(50)
    }))

  it.scoped("the bulk path gives back any JSON document and id exactly as JSON.stringify wrote them", () =>
    Effect.gen(function*() {
      const store = yield* ReplicaStore.make({ filename: "memory" })
      const special = fc.constantFrom(1e21, -1e-7, 0.1 + 0.2, -0, 2 ** 53 + 2, 5e-324, "\u2028\u2029", "\ud83d\ude00", "é\u0001\u001f\"\\/")
      const value = fc.oneof(fc.jsonValue({ maxDepth: 3 }), special)
      const doc = fc.record({ _id: fc.oneof(fc.string(), fc.integer(), special), v: value, w: fc.dictionary(fc.string(), value, { maxKeys: 3 }) })
      let seq = 0
      const samples = fc.sample(fc.uniqueArray(doc, { minLength: 8, maxLength: 40, selector: (d) => JSON.stringify(d._id) }), 40)
      for (const sample of samples) {
        // fast-check's JSON values typed as ours (the JSON text is what is under test).
        const docs = sample.map((d): Json.JsonObject => JSON.parse(JSON.stringify(d)))
        seq++
        const collection = `c${seq}`
        yield* store.commit([putCommit(seq, collection, docs)])
        for (const d of docs) {
          expect(store.lookupDoc(collection, JSON.stringify(d._id))?.visibleJson).toBe(JSON.stringify(d))
        }
        expect(yield* store.countCollection(collection)).toBe(docs.length)
      }
    }))

  it.scoped("a commit that fails leaves nothing behind, not even in the key index", () =>
    Effect.gen(function*() {
      const store = yield* ReplicaStore.make({ filename: "memory" })
      yield* store.commit([putCommit(1, "c", [{ _id: "a" }])])
      // seq 1 again: the op insert fails after the first commit's rows went in.
      const docs = Array.from({ length: 20 }, (_, i) => ({ _id: `n${i}` }))
      const failed = yield* Effect.either(store.commit([putCommit(2, "c", docs), putCommit(1, "c", [{ _id: "z" }])]))
      expect(Either.isLeft(failed)).toBe(true)
      expect(store.lastSeq()).toBe(1)
      expect(store.lookupDoc("c", JSON.stringify("n0"))).toBeUndefined()
      expect(yield* store.countCollection("c")).toBe(1)
      // The same documents commit fine afterwards.
      yield* store.commit([putCommit(2, "c", docs)])
      expect(yield* store.countCollection("c")).toBe(21)
      // An eviction rolled back: the document is still there for lookups
      // (a missing key would make the next write treat it as new).
      const evict: Commit = {
        op: { seq: 3, txnId: `${site}:3`, siteId: site, hlc: Hlc.encode(1_700_000_000_000, 3), origin: "local", changes: [{ collection: "c", id: JSON.stringify("a"), evict: true }] },
        docs: [],
        evicted: [{ collection: "c", id: JSON.stringify("a") }]
      }
      expect(Either.isLeft(yield* Effect.either(store.commit([evict, putCommit(2, "c", [{ _id: "y" }])])))).toBe(true)
      expect(store.lookupDoc("c", JSON.stringify("a"))?.visibleJson).toBe(JSON.stringify({ _id: "a" }))
    }))

  it.scoped("lookups after commits give what the file holds: rewritten, evicted, bulk-written and rolled-back documents", () =>
    Effect.gen(function*() {
      const store = yield* ReplicaStore.make({ filename: "memory" })
      const id = JSON.stringify("a")
      const fromFile = (collection: string, key: string) =>
        Effect.map(store.scanDocs(collection, "", 10_000), (rows) => rows.find((r) => r.id === key)?.visibleJson)
      yield* store.commit([putCommit(1, "c", [{ _id: "a", v: 1 }])])
      expect(store.lookupDoc("c", id)?.visibleJson).toBe(JSON.stringify({ _id: "a", v: 1 }))
      yield* store.commit([putCommit(2, "c", [{ _id: "a", v: 2 }])])
      expect(store.lookupDoc("c", id)?.visibleJson).toBe(JSON.stringify({ _id: "a", v: 2 }))
      expect(store.lookupDoc("c", id)?.visibleJson).toBe(yield* fromFile("c", id))
      // A failed commit that rewrote the document: lookups still give the committed row.
      const failed = yield* Effect.either(store.commit([putCommit(3, "c", [{ _id: "a", v: 3 }]), putCommit(1, "c", [{ _id: "q" }])]))
      expect(Either.isLeft(failed)).toBe(true)
      expect(store.lookupDoc("c", id)?.visibleJson).toBe(JSON.stringify({ _id: "a", v: 2 }))
      // A large commit rewriting it (the bulk path) is seen too.
      const many = [{ _id: "a", v: 4 }, ...Array.from({ length: 100 }, (_, i) => ({ _id: `b${i}` }))]
      yield* store.commit([putCommit(3, "c", many)])
      expect(store.lookupDoc("c", id)?.visibleJson).toBe(JSON.stringify({ _id: "a", v: 4 }))
      expect(store.lookupDoc("c", id)?.lastSeq).toBe(3)
      const evict: Commit = {
        op: { seq: 4, txnId: `${site}:4`, siteId: site, hlc: Hlc.encode(1_700_000_000_000, 4), origin: "local", changes: [{ collection: "c", id, evict: true }] },
        docs: [],
        evicted: [{ collection: "c", id }]
      }
      yield* store.commit([evict])
      expect(store.lookupDoc("c", id)).toBeUndefined()
      yield* store.commit([putCommit(5, "c", [{ _id: "a", v: 5 }])])
      expect(store.lookupDoc("c", id)?.visibleJson).toBe(yield* fromFile("c", id))
    }))

  it.scoped("cursors given to setCursorSoon are read back at once and are in the file once the store closes", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "shoal-cursor-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
      const filename = join(dir, "replica.db")
      yield* Effect.scoped(Effect.gen(function*() {
        const store = yield* ReplicaStore.make({ filename })
        yield* store.setCursorSoon("r1", { ackedSeq: 7, syncedQueries: ["q"] })
        yield* store.setCursorSoon("r2", { ackedSeq: 3, syncedQueries: [] })
        yield* store.setCursorSoon("r1", { ackedSeq: 9, syncedQueries: ["q"] })
        expect(yield* store.getCursor("r1")).toEqual({ ackedSeq: 9, syncedQueries: ["q"] })
        // An immediate write of the same remote supersedes the pending one.
        yield* store.setCursorSoon("r3", { ackedSeq: 1, syncedQueries: [] })
        yield* store.setCursor("r3", { ackedSeq: 2, syncedQueries: [] })
      }))
      const reopened = yield* ReplicaStore.make({ filename })
      expect(yield* reopened.getCursor("r1")).toEqual({ ackedSeq: 9, syncedQueries: ["q"] })
      expect(yield* reopened.getCursor("r2")).toEqual({ ackedSeq: 3, syncedQueries: [] })
      expect(yield* reopened.getCursor("r3")).toEqual({ ackedSeq: 2, syncedQueries: [] })
    }))

  it.scoped("claimed keys: a created row commits as new; a claim that never commits leaves no document", () =>
    Effect.gen(function*() {
      const store = yield* ReplicaStore.make({ filename: "memory" })
      const a = JSON.stringify("a")
      const b = JSON.stringify("b")
      expect(store.claimKey("c", a)).toBe(true)
      expect(store.claimKey("c", a)).toBe(false) // claimed already
      const put = (doc: Json.JsonObject): Op.Put => ({ collection: "c", id: JSON.stringify(doc._id), put: doc, stamp })
      const commit = putCommit(1, "c", [{ _id: "a", v: 1 }])
      const created = DocFold.fold(undefined, put({ _id: "a", v: 1 }), 1, true)
      expect(created.created).toBe(true)
      yield* store.commit([{ ...commit, docs: [created] }])
      expect(store.lookupDoc("c", a)?.visibleJson).toBe(JSON.stringify({ _id: "a", v: 1 }))
      expect(yield* store.countCollection("c")).toBe(1)
      // Claimed, then the write was abandoned: nothing there, and a later plain write still lands.
      expect(store.claimKey("c", b)).toBe(true)
      expect(store.lookupDoc("c", b)).toBeUndefined()
      expect(yield* store.getDoc("c", b)).toBeUndefined()
      yield* store.commit([putCommit(2, "c", [{ _id: "b", v: 2 }])])
      expect(store.lookupDoc("c", b)?.visibleJson).toBe(JSON.stringify({ _id: "b", v: 2 }))
      // A created row whose commit fails: its key is released with the rollback.
      expect(store.claimKey("c", JSON.stringify("z"))).toBe(true)
      const z = putCommit(1, "c", [{ _id: "z" }]) // seq 1 again: the op insert fails
      const zRow = DocFold.fold(undefined, put({ _id: "z" }), 1, true)
      expect(Either.isLeft(yield* Effect.either(store.commit([{ ...z, docs: [zRow] }])))).toBe(true)
      expect(store.claimKey("c", JSON.stringify("z"))).toBe(true)
      // The writer's plain-code commit answers the same failure as a value.
      const zRow2 = DocFold.fold(undefined, put({ _id: "z" }), 1, true)
      expect(store.commitNow([{ ...z, docs: [zRow2] }])?._tag).toBe("StoreError")
      expect(store.claimKey("c", JSON.stringify("z"))).toBe(true)
      expect(yield* store.countCollection("c")).toBe(2)
    }))
})
