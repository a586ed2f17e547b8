/**
 * Replay property: random sequences of writes through a Small Peer (single
 * statements, concurrent callers that the Replica actor group-commits,
 * multi-statement transactions; insert/update/unset/counter/delete/evict),
 * then the op log folded from seq 0 into a fresh store gives a `docs` table
 * byte-identical to the source's, whatever the chunking of the replay.
 *
 * It lives here rather than in store-sqlite/test because it drives writes
 * through @shoal/peer, and store-sqlite must not depend on peer.
 */
import { describe, expect, it } from "@effect/vitest"
import type { Json } from "@shoal/core"
import { SmallPeer } from "@shoal/peer"
import { applyOps, ReplicaStore, type ReplicaStoreShape } from "@shoal/store-sqlite"
import * as Effect from "effect/Effect"
import * as fc from "effect/FastCheck"
import { applyChunk } from "../src/internal/Replay.js"

type Write =
  | { readonly _tag: "insert"; readonly coll: string; readonly id: string; readonly doc: Json.JsonObject; readonly mode: string }
  | { readonly _tag: "set"; readonly coll: string; readonly id: string; readonly field: string; readonly value: Json.Json }
  | { readonly _tag: "unset"; readonly coll: string; readonly id: string; readonly field: string }
  | { readonly _tag: "inc"; readonly coll: string; readonly id: string; readonly by: number }
  | { readonly _tag: "delete"; readonly coll: string; readonly id: string }
  | { readonly _tag: "deleteWhere"; readonly coll: string; readonly n: number }
  | { readonly _tag: "evict"; readonly coll: string; readonly id: string }

interface Group {
  readonly kind: "sequential" | "concurrent" | "transaction"
  readonly writes: ReadonlyArray<Write>
}

const coll = fc.constantFrom("a", "b")
const id = fc.constantFrom("x", "y", "z", "w")
const field = fc.constantFrom("f", "g", "n", "o")
const value: fc.Arbitrary<Json.Json> = fc.oneof(
  fc.integer({ min: -5, max: 5 }),
  fc.constantFrom("s", "t", ""),
  fc.boolean(),
  fc.constant(null),
  fc.record({ p: fc.integer({ min: 0, max: 3 }) }),
  fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 2 })
)
const doc: fc.Arbitrary<Json.JsonObject> = fc.dictionary(field, value, { maxKeys: 3 })

const write: fc.Arbitrary<Write> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ _tag: fc.constant("insert" as const), coll, id, doc, mode: fc.constantFrom("", " ON ID CONFLICT DO UPDATE", " ON ID CONFLICT DO NOTHING") }) },
  { weight: 4, arbitrary: fc.record({ _tag: fc.constant("set" as const), coll, id, field, value }) },
  { weight: 1, arbitrary: fc.record({ _tag: fc.constant("unset" as const), coll, id, field }) },
  { weight: 2, arbitrary: fc.record({ _tag: fc.constant("inc" as const), coll, id, by: fc.integer({ min: -3, max: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ _tag: fc.constant("delete" as const), coll, id }) },
  { weight: 1, arbitrary: fc.record({ _tag: fc.constant("deleteWhere" as const), coll, n: fc.integer({ min: -2, max: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ _tag: fc.constant("evict" as const), coll, id }) }
)

const group: fc.Arbitrary<Group> = fc.record({
  kind: fc.constantFrom("sequential" as const, "concurrent" as const, "transaction" as const),
  writes: fc.array(write, { minLength: 1, maxLength: 4 })
})

const statement = (w: Write): readonly [string, Json.JsonObject] => {
  switch (w._tag) {
    case "insert":
      return [`INSERT INTO ${w.coll} DOCUMENTS (:d)${w.mode}`, { d: { ...w.doc, _id: w.id } }]
    case "set":
      return [`UPDATE ${w.coll} SET ${w.field} = :v WHERE _id = :id`, { v: w.value, id: w.id }]
    case "unset":
      return [`UPDATE ${w.coll} UNSET ${w.field} WHERE _id = :id`, { id: w.id }]
    case "inc":
      return [`UPDATE ${w.coll} APPLY hits PN_INCREMENT BY :by WHERE _id = :id`, { by: w.by, id: w.id }]
    case "delete":
      return [`DELETE FROM ${w.coll} WHERE _id = :id`, { id: w.id }]
    case "deleteWhere":
      return [`DELETE FROM ${w.coll} WHERE n > :n`, { n: w.n }]
    case "evict":
      return [`EVICT FROM ${w.coll} WHERE _id = :id`, { id: w.id }]
  }
}

/** Run the groups against a fresh peer; failures (an INSERT on an existing id) are part of the workload. */
const runWorkload = (groups: ReadonlyArray<Group>) =>
  Effect.gen(function*() {
    const peer = yield* SmallPeer
    for (const g of groups) {
      const run = (w: Write) => Effect.ignore(peer.execute(...statement(w)))
      switch (g.kind) {
        case "sequential":
          yield* Effect.forEach(g.writes, run, { discard: true })
          break
        case "concurrent":
          yield* Effect.forEach(g.writes, run, { concurrency: "unbounded", discard: true })
          break
        case "transaction":
          yield* Effect.ignore(
            peer.transaction((tx) => Effect.forEach(g.writes, (w) => tx.execute(...statement(w)), { discard: true }))
          )
          break
      }
    }
    const store = yield* ReplicaStore
    return { store, source: yield* store.dumpDocs }
  })

const replayInto = (
  from: ReplicaStoreShape,
  chunk: number,
  apply: (target: ReplicaStoreShape, ops: Parameters<typeof applyOps>[1]) => Effect.Effect<void, unknown>
) =>
  Effect.scoped(
    Effect.gen(function*() {
      const target = yield* ReplicaStore.make({ filename: "memory" })
      let after = 0
      for (;;) {
        const ops = yield* from.readOps(after, chunk)
        if (ops.length === 0) break
        yield* apply(target, ops)
        after = ops[ops.length - 1]!.seq
      }
      expect(target.lastSeq()).toBe(from.lastSeq())
      return yield* target.dumpDocs
    })
  )

describe("replaying the op log", () => {
  it.live.prop(
    "folding every op from seq 0 rebuilds docs byte for byte (CLI replay chunking)",
    { groups: fc.array(group, { minLength: 1, maxLength: 25 }), chunk: fc.integer({ min: 1, max: 40 }) },
    ({ chunk, groups }) =>
      Effect.scoped(
        Effect.gen(function*() {
          const { source, store } = yield* runWorkload(groups)
          const replayed = yield* replayInto(store, chunk, applyChunk)
          expect(JSON.stringify(replayed)).toBe(JSON.stringify(source))
        }).pipe(Effect.provide(SmallPeer.layer({ appId: "prop", persistenceDir: "memory" })))
      ),
    { fastCheck: { numRuns: 60 } }
  )

  // Known bug in store-sqlite `applyOps` (reported to the lead): within one
  // call, a write to a document evicted by an earlier op of the same call
  // reads the document's row from before the call (the eviction is not yet
  // committed) and folds onto that stale state instead of starting fresh as
  // the live path does (its overlay maps an evicted key to "absent"). The CLI works around it
  // by ending a chunk after every op that evicts (internal/Replay.ts). When
  // applyOps is fixed this test starts failing: drop `.fails` and run the
  // property above with `applyOps` too.
  it.live("applyOps alone: a write after an eviction in the same chunk", () =>
    Effect.scoped(
      Effect.gen(function*() {
        const { source, store } = yield* runWorkload([
          { kind: "sequential", writes: [{ _tag: "insert", coll: "a", id: "y", doc: {}, mode: "" }] },
          { kind: "sequential", writes: [{ _tag: "insert", coll: "a", id: "x", doc: { f: 1 }, mode: "" }] },
          // ops 3 and 4 are replayed by one applyOps call; x's row from op 2 is already in the store
          { kind: "sequential", writes: [{ _tag: "evict", coll: "a", id: "x" }] },
          { kind: "sequential", writes: [{ _tag: "insert", coll: "a", id: "x", doc: { g: 2 }, mode: "" }] }
        ])
        const replayed = yield* replayInto(store, 2, applyOps)
        expect(JSON.stringify(replayed)).toBe(JSON.stringify(source))
      }).pipe(Effect.provide(SmallPeer.layer({ appId: "prop", persistenceDir: "memory" })))
    ))
})
