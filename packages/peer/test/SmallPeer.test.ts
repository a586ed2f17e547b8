import { describe, expect, it } from "@effect/vitest"
import { ReplicaStore } from "@shoal/store-sqlite"
import { Chunk, Context, Effect, Fiber, Layer, Stream } from "effect"
import { SmallPeer } from "../src/index.js"

const memoryPeer = () => SmallPeer.layer({ appId: "test", persistenceDir: "memory" })

describe("SmallPeer local API", () => {
  it.scoped("execute inserts, selects, updates, deletes", () =>
    Effect.gen(function*() {
      const peer = yield* SmallPeer
      const ins = yield* peer.execute("INSERT INTO cars DOCUMENTS (:a), (:b)", {
        a: { _id: "1", make: "Volvo", year: 1999, tags: ["old"] },
        b: { _id: "2", make: "Saab", year: 2005 }
      })
      expect(ins.queryType).toBe("insert")
      expect(ins.mutatedDocumentIds).toEqual(["1", "2"])
      expect(ins.transactionId).toBe(1)
      const sel = yield* peer.execute("SELECT * FROM cars WHERE year > 2000")
      expect(sel.items).toEqual([{ _id: "2", make: "Saab", year: 2005 }])
      const upd = yield* peer.execute("UPDATE cars SET year = year + 1, color = 'red' UNSET tags WHERE _id = :id", { id: "1" })
      expect(upd.mutatedDocumentIds).toEqual(["1"])
      const one = yield* peer.execute("SELECT make, year, color FROM cars WHERE _id = '1'")
      expect(one.items).toEqual([{ make: "Volvo", year: 2000, color: "red" }])
      yield* peer.execute("DELETE FROM cars WHERE make = 'Saab'")
      const all = yield* peer.execute("SELECT * FROM cars ORDER BY _id")
      expect(all.items.map((d) => d._id)).toEqual(["1"])
    }).pipe(Effect.provide(memoryPeer())))

  it.scoped("INSERT conflict modes, generated ids and counters", () =>
    Effect.gen(function*() {
      const peer = yield* SmallPeer
      yield* peer.execute("INSERT INTO c DOCUMENTS (:d)", { d: { _id: "x", n: 1, keep: true } })
      const dup = yield* Effect.flip(peer.execute("INSERT INTO c DOCUMENTS (:d)", { d: { _id: "x", n: 2 } }))
      expect(dup._tag).toBe("DocumentExists")
      const nothing = yield* peer.execute("INSERT INTO c DOCUMENTS (:d) ON ID CONFLICT DO NOTHING", { d: { _id: "x", n: 3 } })
      expect(nothing.mutatedDocumentIds).toEqual([])
      yield* peer.execute("INSERT INTO c DOCUMENTS (:d) ON ID CONFLICT DO UPDATE", { d: { _id: "x", n: 4 } })
      expect((yield* peer.execute("SELECT * FROM c WHERE _id = 'x'")).items).toEqual([{ _id: "x", n: 4, keep: true }])
      const gen = yield* peer.execute("INSERT INTO c DOCUMENTS ({ 'v': 1 })")
      expect(typeof gen.mutatedDocumentIds[0]).toBe("string")
      yield* peer.execute("UPDATE c APPLY hits PN_INCREMENT BY 2 WHERE _id = 'x'")
      yield* peer.execute("UPDATE c APPLY hits PN_INCREMENT BY 3 WHERE _id = 'x'")
      expect((yield* peer.execute("SELECT hits FROM c WHERE _id = 'x'")).items).toEqual([{ hits: 5 }])
    }).pipe(Effect.provide(memoryPeer())))

  it.scoped("bad input fails the call with a typed error and the replica keeps working", () =>
    Effect.gen(function*() {
      const peer = yield* SmallPeer
      const syntax = yield* Effect.flip(peer.execute("SELEC * FROM c"))
      expect(syntax._tag).toBe("DqlSyntaxError")
      const arg = yield* Effect.flip(peer.execute("SELECT * FROM c WHERE a = :missing"))
      expect(arg._tag).toBe("DqlArgumentError")
      const notObject = yield* Effect.flip(peer.execute("INSERT INTO c DOCUMENTS (:d)", { d: 5 }))
      expect(notObject._tag).toBe("DqlArgumentError")
      const big = yield* Effect.flip(peer.execute("INSERT INTO c DOCUMENTS (:d)", { d: { _id: "big", s: "x".repeat(6 * 1024 * 1024) } }))
      expect(big._tag).toBe("DocumentTooLarge")
      const warn = yield* peer.execute("INSERT INTO c DOCUMENTS (:d)", { d: { _id: "mid", s: "x".repeat(300 * 1024) } })
      expect(warn.warnings.length).toBe(1)
      // "__proto__" as a field name (as JSON.parse makes it, nested or not) is refused, never half-stored.
      for (const json of ['{"_id":"p","__proto__":{"x":1}}', '{"_id":"p","a":{"__proto__":1}}', '{"_id":7,"__proto__":2}']) {
        const proto = yield* Effect.flip(peer.execute("INSERT INTO c DOCUMENTS (:d)", { d: JSON.parse(json) }))
        expect(proto._tag).toBe("InvalidStatement")
      }
      expect(yield* Effect.flip(peer.execute("UPDATE c SET __proto__ = 1 WHERE _id = 'fine'"))).toMatchObject({ _tag: "InvalidStatement" })
      expect((yield* peer.execute("SELECT * FROM c WHERE _id = 'p'")).items).toEqual([])
      const ok = yield* peer.execute("INSERT INTO c DOCUMENTS (:d)", { d: { _id: "fine" } })
      expect(ok.mutatedDocumentIds).toEqual(["fine"])
    }).pipe(Effect.provide(memoryPeer())))

  it.scoped("transactions commit all statements as one op, or nothing", () =>
    Effect.gen(function*() {
      const peer = yield* SmallPeer
      const { transactionId, value } = yield* peer.transaction((tx) =>
        Effect.gen(function*() {
          yield* tx.execute("INSERT INTO acct DOCUMENTS (:a), (:b)", { a: { _id: "a", bal: 10 }, b: { _id: "b", bal: 0 } })
          yield* tx.execute("UPDATE acct SET bal = bal - 5 WHERE _id = 'a'")
          yield* tx.execute("UPDATE acct SET bal = bal + 5 WHERE _id = 'b'")
          return (yield* tx.execute("SELECT * FROM acct ORDER BY _id")).items.map((d) => d.bal)
        }))
      expect(value).toEqual([5, 5])
      const failed = yield* Effect.flip(peer.transaction((tx) =>
        Effect.gen(function*() {
          yield* tx.execute("UPDATE acct SET bal = 1000 WHERE _id = 'a'")
          yield* tx.execute("INSERT INTO acct DOCUMENTS (:a)", { a: { _id: "b" } })
        })))
      expect(failed._tag).toBe("DocumentExists")
      expect((yield* peer.execute("SELECT * FROM acct ORDER BY _id")).items.map((d) => d.bal)).toEqual([5, 5])
      const store = yield* ReplicaStore
      const ops = yield* store.readOps(0, 10)
      expect(ops.map((o) => o.seq)).toEqual([transactionId])
      expect(ops[0]!.changes.length).toBe(4)
    }).pipe(Effect.provide(memoryPeer())))

  it.scoped("concurrent writes are group-committed and all acknowledged", () =>
    Effect.gen(function*() {
      const peer = yield* SmallPeer
      const results = yield* Effect.forEach(
        Array.from({ length: 200 }, (_, i) => i),
        (i) => peer.execute("INSERT INTO g DOCUMENTS (:d)", { d: { _id: `d${i}`, i } }),
        { concurrency: "unbounded" }
      )
      expect(new Set(results.map((r) => r.transactionId)).size).toBe(200)
      expect((yield* peer.execute("SELECT * FROM g")).items.length).toBe(200)
    }).pipe(Effect.provide(memoryPeer())))

  it.live("observe emits the current result, then once per relevant commit", () =>
    Effect.scoped(Effect.gen(function*() {
      const peer = yield* SmallPeer
      yield* peer.execute("INSERT INTO todo DOCUMENTS (:d)", { d: { _id: "1", done: false } })
      const seen = yield* peer.observe("SELECT * FROM todo WHERE done = false ORDER BY _id").pipe(
        Stream.take(3),
        Stream.runCollect,
        Effect.fork
      )
      yield* Effect.sleep("20 millis")
      yield* peer.execute("INSERT INTO other DOCUMENTS (:d)", { d: { _id: "z" } }) // other collection: nothing
      yield* peer.execute("INSERT INTO todo DOCUMENTS (:d)", { d: { _id: "2", done: true } }) // unchanged result: nothing
      yield* peer.execute("INSERT INTO todo DOCUMENTS (:d)", { d: { _id: "3", done: false } })
      yield* peer.execute("UPDATE todo SET done = true WHERE _id = '1'")
      const results = Chunk.toReadonlyArray(yield* Fiber.join(seen))
      expect(results.map((r) => r.map((d) => d._id))).toEqual([["1"], ["1", "3"], ["3"]])
    }).pipe(Effect.provide(memoryPeer()))))

  it.scoped("EXPLAIN shows an index once one exists", () =>
    Effect.gen(function*() {
      const peer = yield* SmallPeer
      yield* peer.execute("INSERT INTO p DOCUMENTS (:d)", { d: Array.from({ length: 50 }, (_, i) => ({ _id: `${i}`, k: i })) })
      const before = yield* peer.execute("EXPLAIN SELECT * FROM p WHERE k = 7")
      expect(before.items[0]!.index).toBeNull()
      yield* peer.execute("CREATE INDEX p_k ON p (k)")
      const after = yield* peer.execute("EXPLAIN SELECT * FROM p WHERE k = 7")
      expect(after.items[0]!.index).toBe("idx_p_k")
      expect((yield* peer.execute("SELECT * FROM p WHERE k = 7")).items).toEqual([{ _id: "7", k: 7 }])
    }).pipe(Effect.provide(memoryPeer())))

  it.scoped("hasAll: true exactly when merging the documents would change nothing", () =>
    Effect.gen(function*() {
      const a = Context.get(yield* Layer.build(memoryPeer()), SmallPeer)
      const b = Context.get(yield* Layer.build(memoryPeer()), SmallPeer)
      yield* a.execute("INSERT INTO c DOCUMENTS (:d)", { d: { _id: "x", v: 1 } })
      const id = JSON.stringify("x")
      const first = a.replica.store.lookupDoc("c", id)!
      const whole = { collection: "c", id, put: first.visible!, stamp: first.stamp! }
      const group = { collection: "c", stamp: first.stamp!, docs: [first.visible!] }
      expect(b.replica.hasAll([whole], [])).toBe(false)
      expect(b.replica.hasAll([], [group])).toBe(false)
      expect((yield* b.replica.merge(a.replica.siteId, [whole])).seq).toBe(1)
      expect(b.replica.hasAll([whole], [])).toBe(true)
      expect(b.replica.hasAll([], [group])).toBe(true)
      // A newer version is not had yet, and neither is an unknown document.
      yield* a.execute("UPDATE c SET v = 2 WHERE _id = 'x'")
      const second = a.replica.store.lookupDoc("c", id)!
      const delta = { collection: "c", id, vv: second.vv, delta: second.state }
      expect(b.replica.hasAll([delta], [])).toBe(false)
      expect(b.replica.hasAll([whole, { ...whole, id: JSON.stringify("y") }], [])).toBe(false)
      yield* b.replica.merge(a.replica.siteId, [delta])
      expect(b.replica.hasAll([delta, whole], [group])).toBe(true)
      expect((yield* b.execute("SELECT * FROM c")).items).toEqual([{ _id: "x", v: 2 }])
    }))

  it.scoped("one caller at a time on an idle replica runs its writes itself, except every 32nd (the probe for concurrent callers)", () =>
    Effect.gen(function*() {
      const peer = yield* SmallPeer
      const before = yield* peer.replica.status
      for (let i = 0; i < 64; i++) yield* peer.execute("INSERT INTO c DOCUMENTS (:d)", { d: { _id: `k${i}` } })
      const after = yield* peer.replica.status
      expect(after.ranDirectly - before.ranDirectly).toBe(62)
      expect(after.queued).toBe(0)
      expect((yield* peer.execute("SELECT * FROM c")).items.length).toBe(64)
    }).pipe(Effect.provide(memoryPeer())))

  it.scoped("commit watchers: plain or effect, called after each commit; one that throws is logged and the others still run", () =>
    Effect.gen(function*() {
      const peer = yield* SmallPeer
      const seen: Array<string> = []
      yield* peer.replica.watch(Effect.void, (events) => {
        for (const e of events) seen.push(`plain ${e.seq}`)
      })
      yield* peer.replica.watch(Effect.void, () => {
        throw new Error("a broken watcher")
      })
      yield* peer.replica.watch(Effect.void, (events) => Effect.sync(() => {
        for (const e of events) seen.push(`effect ${e.seq}`)
      }))
      yield* peer.execute("INSERT INTO w DOCUMENTS (:d)", { d: { _id: "1" } })
      yield* peer.execute("INSERT INTO w DOCUMENTS (:d)", { d: { _id: "2" } })
      // Watchers run before the write returns.
      expect(seen).toEqual(["plain 1", "effect 1", "plain 2", "effect 2"])
      expect((yield* peer.execute("SELECT * FROM w")).items).toHaveLength(2)
    }).pipe(Effect.provide(memoryPeer())))
})
