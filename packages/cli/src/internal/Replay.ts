/**
 * Folding a run of ops into a store with `applyOps`, in the chunks the
 * caller reads. An op that evicts documents ends its chunk: `applyOps` only
 * sees the documents of its own chunk through the store, so a write after an
 * eviction in the same chunk would fold onto the evicted (stale) row.
 */
import type { Op } from "@shoal/core"
import { applyOps, type ReplicaStoreShape } from "@shoal/store-sqlite"
import * as Effect from "effect/Effect"

const hasEviction = (op: Op.Op) => op.changes.some((c) => "evict" in c)

export const applyChunk = (store: ReplicaStoreShape, ops: ReadonlyArray<Op.Op>) =>
  Effect.gen(function*() {
    let start = 0
    for (let i = 0; i < ops.length; i++) {
      if (hasEviction(ops[i]!)) {
        yield* applyOps(store, ops.slice(start, i + 1))
        start = i + 1
      }
    }
    if (start < ops.length) yield* applyOps(store, start === 0 ? ops : ops.slice(start))
  })
