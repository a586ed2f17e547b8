/**
 * The Replica actor: the single writer of one replica.
 *
 * Commands (local transactions, merges of remote deltas) go into a bounded
 * mailbox; the actor takes everything queued and group-commits it in one
 * SQLite transaction, one op per command. A failing command fails only its
 * caller; a defect while handling one is turned into a `ReplicaDefect` for
 * that batch's callers and the actor keeps running. After a commit it
 * publishes a `CommitEvent` that wakes observers and links.
 *
 * Plain SELECTs do not go through the actor: they read the store directly
 * (everything the actor acknowledged is already committed).
 */
import { Document, Dql, Hlc, Json, Op, Protocol, SiteId, Stamp, VersionVector } from "@shoal/core"
import {
  type Commit,
  type DocRecord,
  DocFold,
  DocumentTooLarge,
  MAX_DOCUMENT_BYTES,
  ReplicaStore,
  type ReplicaStoreShape,
  StoreError,
  WARN_DOCUMENT_BYTES
} from "@shoal/store-sqlite"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"
import { InvalidStatement, ReplicaDefect, ReplicaStopped } from "./Errors.js"
import { type DocSource, fromStore, overlay, PendingDocs } from "./internal/DocSource.js"
import * as Execute from "./internal/Execute.js"
import { parseCached, parseSync } from "./internal/StatementCache.js"
import * as WriterLock from "./internal/WriterLock.js"

export interface ExecuteResult {
  readonly queryType: Execute.QueryType
  readonly items: ReadonlyArray<Json.JsonObject>
  readonly mutatedDocumentIds: ReadonlyArray<Json.Json>
  /** The seq of the op that committed the writes (the replica's last seq for reads). */
  readonly transactionId: number
  readonly warnings: ReadonlyArray<string>
}

export type ExecuteError = Execute.ExecuteError | ReplicaStopped | ReplicaDefect

/** Handle given to `transaction` bodies: statements see the transaction's own writes. */
export interface Transaction {
  readonly execute: (statement: string, args?: Json.JsonObject) => Effect.Effect<Execute.StatementResult, Execute.ExecuteError>
}

export interface CommitEvent {
  readonly seq: number
  readonly origin: Op.Origin
  /** The remote site whose deltas this op merged (sync ops only). */
  readonly from?: string
  readonly changes: ReadonlyArray<{ readonly collection: string; readonly id: string; readonly evicted?: boolean }>
  /** The op as committed (what a reader of the op log at `seq` gets). */
  readonly op: Op.Op
}

/**
 * A document a remote sent: its delta (against `base`, with the sender's
 * `vv`), or the whole document written at one stamp (`put` + `stamp`, i.e.
 * `fromJson(put, stamp)`). The wire's entry as decoded, so a received batch
 * is merged without copying each entry.
 */
export type IncomingDoc = Protocol.DeltaEntry

export interface MergePolicy {
  /** Whether the remote may make this write (`before`/`after`: visible JSON, undefined = absent). */
  readonly canWrite: (collection: string, before: Json.JsonObject | undefined, after: Json.JsonObject | undefined) => boolean
}

export interface MergeResult {
  /** Op seq that committed the merge, or undefined when nothing was new. */
  readonly seq: number | undefined
  readonly rejected: ReadonlyArray<{ readonly collection: string; readonly id: string }>
  /** Deltas whose base this replica does not cover: ask the sender again with these vvs. */
  readonly incomplete: ReadonlyArray<{ readonly collection: string; readonly id: string; readonly vv: VersionVector.VersionVector }>
}

/**
 * Called inside the writer right after each commit with the batch's events:
 * plain code, or an effect to run there (see `watch`).
 */
export type Watcher = (events: ReadonlyArray<CommitEvent>) => Effect.Effect<void> | void

interface BatchContext {
  readonly store: ReplicaStoreShape
  readonly pending: PendingDocs
  readonly source: DocSource
  readonly commits: Array<Commit>
  readonly events: Array<CommitEvent>
  readonly seq: () => number
  /** Replies to complete once the commit's outcome is known. */
  readonly settle: Array<(failure: StoreError | undefined) => Effect.Effect<void>>
}

/** Where a command's outcome goes: a Deferred (queued), or a slot (run by its caller). */
interface Reply<A, E> {
  readonly succeed: (a: A) => Effect.Effect<void>
  readonly fail: (e: E) => Effect.Effect<void>
}

const deferredReply = <A, E>(d: Deferred.Deferred<A, E>): Reply<A, E> => ({
  succeed: (a) => Effect.asVoid(Deferred.succeed(d, a)),
  fail: (e) => Effect.asVoid(Deferred.fail(d, e))
})

/** A queued command: runs inside the actor, completes its own reply. */
interface Command {
  readonly run: (ctx: BatchContext) => Effect.Effect<void>
  readonly fail: (e: ReplicaDefect) => Effect.Effect<void>
  readonly stop: Effect.Effect<void>
}

/** The outcome of a merge with nothing new. */
const nothingNew: MergeResult = { seq: undefined, rejected: [], incomplete: [] }

const MAILBOX = 4096
const MAX_BATCH = 1024
/** One command in this many goes through the mailbox to detect concurrent callers. */
const PROBE_EVERY = 32
/** Commands that queue (for group commit) after a batch showed concurrent callers. */
const GROUPING_RUN = 1024

export const make = Effect.gen(function*() {
  const store = yield* ReplicaStore
  const inbox = yield* Queue.bounded<Command>(MAILBOX)
  /** The replica's scope closed: queued and new commands fail with `ReplicaStopped`. */
  let isStopped = false
  const commits = yield* PubSub.unbounded<CommitEvent>()
  const clock = Hlc.makeClock(store.lastHlc)
  // Wall time for the HLC, read without an effect per write (the Clock of
  // the replica's context: a TestClock in tests).
  const wallClock = yield* Effect.clock
  const site = store.siteId
  const base = fromStore(store)

  /** Run inside the writer after every commit (see `watch`). */
  const watchers = new Set<Watcher>()

  // Observability: what the actor is doing (for diagnostics and tests).
  let batchesDone = 0
  let inBatch = false
  const handleBatch = (batch: Iterable<Command>) =>
    Effect.gen(function*() {
      inBatch = true
      const pending = new PendingDocs()
      const ctx: BatchContext = {
        store,
        pending,
        source: overlay(base, pending),
        commits: [],
        events: [],
        seq: () => store.lastSeq() + ctx.commits.length + 1,
        settle: []
      }
      for (const cmd of batch) {
        yield* cmd.run(ctx).pipe(
          Effect.catchAllDefect((d) => cmd.fail(new ReplicaDefect({ detail: String(d) })))
        )
      }
      // Replies complete only once the batch is durable (or failed as a whole).
      const failure = ctx.commits.length > 0 ? store.commitNow(ctx.commits) : undefined
      if (failure !== undefined) yield* Effect.logError("replica commit failed", failure)
      for (const settle of ctx.settle) yield* settle(failure)
      if (failure === undefined && ctx.events.length > 0) {
        for (const e of ctx.events) yield* PubSub.publish(commits, e)
        for (const w of watchers) {
          // A watcher is plain code (most) or an effect.
          let effect: Effect.Effect<void> | void
          try {
            effect = w(ctx.events)
          } catch (d) {
            yield* Effect.logError("replica watcher defect", d)
            continue
          }
          if (Effect.isEffect(effect)) {
            yield* effect.pipe(Effect.catchAllDefect((d) => Effect.logError("replica watcher defect", d)))
          }
        }
      }
      inBatch = false
      batchesDone++
    })

  // One writer at a time: the actor's loop, or a caller running its own
  // command when the actor is idle (see `ask`).
  const writerLock = yield* WriterLock.make
  const runBatch = (batch: Iterable<Command>) =>
    Effect.uninterruptible(handleBatch(batch)).pipe(
      Effect.catchAllDefect((d) => Effect.logError("replica batch defect", d))
    )

  // Direct runs or the mailbox (see `ask`): the count of commands handled so
  // far, and until which count callers queue because batches were forming.
  let handled = 0
  let queueUntil = 0
  const loop = Queue.takeBetween(inbox, 1, MAX_BATCH).pipe(
    Effect.flatMap((batch) =>
      Effect.zipRight(
        writerLock.withLock(runBatch(batch)),
        Effect.sync(() => {
          handled += batch.length
          // Several callers were waiting: they are concurrent, keep grouping them.
          if (batch.length > 1) queueUntil = handled + GROUPING_RUN
        })
      )
    ),
    Effect.forever
  )

  yield* Effect.addFinalizer(() =>
    Effect.gen(function*() {
      isStopped = true
      for (const cmd of yield* Queue.takeAll(inbox)) yield* cmd.stop
    })
  )
  yield* Effect.forkScoped(loop)

  let asked = 0
  let ranDirectly = 0
  const submit = (cmd: Command) =>
    Queue.offer(inbox, cmd).pipe(Effect.asVoid)

  // No race against the stop per call (it doubled the cost of a round trip):
  // on stop the finalizer fails every queued command, and a caller that
  // enqueued after that sees `isStopped` right after its offer.
  //
  // When nothing is queued and no batch is running, the caller runs its
  // command as a batch of one itself, under the writer lock: the same code
  // and the same commit, without the two fiber hops through the mailbox
  // (about half the cost of a sequential single-document write).
  //
  // A caller that runs directly never yields, so concurrent callers would be
  // served one by one and never group-committed. Every `PROBE_EVERY`-th
  // command therefore goes through the mailbox: if other callers are ready,
  // they queue behind it (the mailbox is no longer empty), the actor takes
  // them as one batch, and callers keep queueing for `GROUPING_RUN` commands.
  // A sequential caller pays one mailbox round trip per `PROBE_EVERY` writes.
  const queued = <A, E>(build: (reply: Reply<A, E | ReplicaDefect | StoreError | ReplicaStopped>) => Command) =>
    Effect.gen(function*() {
      const reply = yield* Deferred.make<A, E | ReplicaDefect | StoreError | ReplicaStopped>()
      const cmd = build(deferredReply(reply))
      yield* submit(cmd)
      if (isStopped) yield* cmd.stop
      return yield* Deferred.await(reply)
    })
  // Plain code up to the batch (no generator): this runs for every write.
  const ask = <A, E>(
    build: (reply: Reply<A, E | ReplicaDefect | StoreError | ReplicaStopped>) => Command
  ): Effect.Effect<A, E | ReplicaDefect | StoreError | ReplicaStopped> =>
    Effect.suspend(() => {
      if (isStopped) return Effect.fail(new ReplicaStopped())
      const probe = ++asked % PROBE_EVERY === 0
      // (A Queue's size is negative while the actor waits for commands: its
      // take is counted as a taker.)
      if (probe || handled < queueUntil || Option.getOrElse(inbox.unsafeSize(), () => 0) > 0) return queued(build)
      // Run here: the reply is a plain slot (a Deferred costs more than it
      // is worth when nobody waits on it from another fiber).
      let outcome: Exit.Exit<A, E | ReplicaDefect | StoreError | ReplicaStopped> | undefined
      const slot: Reply<A, E | ReplicaDefect | StoreError | ReplicaStopped> = {
        succeed: (a) => Effect.sync(() => void (outcome = Exit.succeed(a))),
        fail: (e) => Effect.sync(() => void (outcome = Exit.fail(e)))
      }
      return Effect.flatMap(writerLock.ifFree(runBatch([build(slot)])), (ran) => {
        if (Option.isNone(ran)) return queued(build)
        handled++
        ranDirectly++
        // Every command settles its reply within its batch (a defect fails it).
        return outcome ?? Exit.die(new Error("replica command left without a reply"))
      })
    })

  /**
   * A document about to be written, as `overlay(…).lookup` reads it: what
   * this command wrote, else what the batch wrote (`null` = evicted there),
   * else the file, except that a key the file lacks is claimed
   * (`ReplicaStore.claimKey`) and answered `Execute.NEW` instead of looked up.
   */
  const lookupForWrite = (
    mine: PendingDocs,
    batch: PendingDocs,
    collection: string,
    id: string
  ): DocRecord | undefined | typeof Execute.NEW => {
    const inCommand = mine.get(collection, id)
    if (inCommand !== undefined) return inCommand ?? undefined
    const inBatch = batch.get(collection, id)
    if (inBatch !== undefined) return inBatch ?? undefined
    return store.claimKey(collection, id) ? Execute.NEW : store.lookupDoc(collection, id)
  }

  /** Run `body` as one transaction inside the actor; its writes become one op. */
  const runTransaction = <A, E>(
    body: (
      tx: Transaction & {
        readonly warnings: Array<string>
        readonly write: (
          parsed: Dql.Ast.Insert | Dql.Ast.Update | Dql.Ast.Delete | Dql.Ast.Evict,
          args: Json.JsonObject
        ) => Effect.Effect<Execute.StatementResult, Execute.ExecuteError>
      }
    ) => Effect.Effect<A, E>
  ) =>
    ask<{ readonly value: A; readonly seq: number; readonly warnings: ReadonlyArray<string> }, E>((reply) => ({
      fail: (e) => reply.fail(e),
      stop: Effect.suspend(() => reply.fail(new ReplicaStopped())),
      run: (ctx) =>
        Effect.gen(function*() {
          const mine = new PendingDocs()
          const source = overlay(ctx.source, mine)
          const seq = ctx.seq()
          const changes: Array<Op.Change | Op.Put | Op.Eviction> = []
          const putJson: Array<string | undefined> = []
          let evictions = false
          const warnings: Array<string> = []
          const now = wallClock.unsafeCurrentTimeMillis()
          const applySync = (change: Op.Change | Op.Put, existing: DocRecord | undefined, claimed = false): DocRecord => {
            const record = DocFold.fold(existing, change, seq, claimed)
            // Size of what readers see, in UTF-16 units: close enough to bytes for a limit.
            if (record.visibleJson !== null && Json.textHasProtoKey(record.visibleJson)) {
              throw Execute.reservedFieldError()
            }
            const bytes = record.visibleJson?.length ?? 0
            if (bytes > MAX_DOCUMENT_BYTES) {
              throw new DocumentTooLarge({ collection: change.collection, id: change.id, bytes, limit: MAX_DOCUMENT_BYTES })
            }
            if (bytes > WARN_DOCUMENT_BYTES) {
              warnings.push(`document ${change.collection}/${change.id} is ${bytes} bytes (above ${WARN_DOCUMENT_BYTES}); large documents sync slowly`)
            }
            mine.set(change.collection, change.id, record)
            changes.push(change)
            putJson.push(DocFold.putJson(change, record))
            return record
          }
          const writer: Execute.Writer = {
            source,
            site,
            stamp: () => {
              const h = Hlc.tick(clock, now)
              return Stamp.make(h, site)
            },
            applySync,
            lookupForWrite: (collection, id) => lookupForWrite(mine, ctx.pending, collection, id),
            evict: (collection, id) => {
              mine.set(collection, id, null)
              changes.push({ collection, id, evict: true })
              putJson.push(undefined)
              evictions = true
            }
          }
          const withWarnings = (r: Execute.StatementResult): Execute.StatementResult =>
            warnings.length === 0 ? r : { ...r, warnings: [...r.warnings, ...warnings] }
          const write = (parsed: Dql.Ast.Insert | Dql.Ast.Update | Dql.Ast.Delete | Dql.Ast.Evict, args: Json.JsonObject) =>
            Effect.map(Execute.write(writer, parsed, args), withWarnings)
          const tx = {
            warnings,
            /** A write already parsed and checked (single-statement `execute`). */
            write,
            execute: (statement: string, args: Json.JsonObject = {}) =>
              Effect.gen(function*() {
                const parsed = yield* parseCached(statement)
                yield* Execute.checkArgs(parsed, args)
                if (Execute.isWrite(parsed)) return yield* write(parsed, args)
                return yield* readStatement(source, parsed, args)
              })
          }
          const outcome = yield* Effect.either(body(tx))
          if (Either.isLeft(outcome)) {
            yield* reply.fail(outcome.left)
            return
          }
          if (changes.length === 0) {
            ctx.settle.push(() => reply.succeed({ value: outcome.right, seq: store.lastSeq(), warnings }))
            return
          }
          ctx.pending.absorb(mine)
          const op: Op.Op = {
            seq,
            txnId: Op.txnId(site, seq),
            siteId: site,
            // The clock as this transaction left it: a restart resumes after it.
            hlc: clock.last,
            origin: "local",
            changes
          }
          // Rows from the final state of each document: an EVICT followed by an
          // INSERT of the same id in one transaction leaves the document.
          const docs: Array<DocRecord> = []
          const evicted: Array<{ collection: string; id: string }> = []
          mine.forEach((collection, id, record) => {
            if (record !== null) docs.push(record)
            else evicted.push({ collection, id })
          })
          ctx.commits.push({ op, docs, evicted, putJson })
          ctx.events.push({
            seq,
            origin: "local",
            op,
            // The changes themselves name their documents; only evictions need marking.
            changes: evictions
              ? changes.map((c) => Op.isEviction(c) ? { collection: c.collection, id: c.id, evicted: true } : c)
              : changes
          })
          ctx.settle.push((failure) =>
            failure === undefined
              ? reply.succeed({ value: outcome.right, seq, warnings })
              : reply.fail(failure)
          )
        })
    }))

  /**
   * Merge a batch of remote deltas (from a link) as one op: `groups` (whole
   * documents by collection and stamp; `ids` when the caller computed them)
   * first, then `docs`. A batch this replica already has all of (`hasAll`:
   * a mesh delivers most documents more than once) is answered without a
   * trip through the writer.
   */
  const merge = (
    from: string,
    docs: ReadonlyArray<IncomingDoc>,
    policy?: MergePolicy,
    groups: ReadonlyArray<Protocol.DeltaGroup & { readonly ids?: ReadonlyArray<string> }> = []
  ): Effect.Effect<MergeResult, ReplicaDefect | StoreError | ReplicaStopped> =>
    Effect.flatMap(
      Effect.try({
        try: () => hasAll(docs, groups),
        catch: (e) => (e instanceof StoreError ? e : new StoreError({ operation: "read document", detail: String(e) }))
      }),
      (had) => (had ? Effect.succeed(nothingNew) : mergeInWriter(from, docs, policy, groups))
    )

  const mergeInWriter = (
    from: string,
    docs: ReadonlyArray<IncomingDoc>,
    policy: MergePolicy | undefined,
    groups: ReadonlyArray<Protocol.DeltaGroup & { readonly ids?: ReadonlyArray<string> }>
  ) =>
    ask<MergeResult, never>((reply) => ({
      fail: (e) => reply.fail(e),
      stop: Effect.suspend(() => reply.fail(new ReplicaStopped())),
      run: (ctx) =>
        Effect.gen(function*() {
          const seq = ctx.seq()
          const changes: Array<Op.Change | Op.Put> = []
          const records = new PendingDocs()
          const docsOut: Array<DocRecord> = []
          const putJson: Array<string | undefined> = []
          const rejected: Array<{ collection: string; id: string }> = []
          const incomplete: Array<{ collection: string; id: string; vv: VersionVector.VersionVector }> = []
          const mergeOne = (
            collection: string,
            id: string,
            base: VersionVector.VersionVector | undefined,
            theirVv: VersionVector.VersionVector | undefined,
            put: Json.JsonObject | undefined,
            stamp: Stamp.Stamp | undefined,
            delta: Document.DocState | undefined,
            observeStamp: boolean
          ): void => {
            const found = lookupForWrite(records, ctx.pending, collection, id)
            const claimed = found === Execute.NEW
            const existing = claimed ? undefined : found
            const vv = existing === undefined ? VersionVector.empty : existing.vv
            if (base !== undefined && !VersionVector.dominates(vv, base)) {
              incomplete.push({ collection, id, vv })
              return
            }
            let change: Op.Change | Op.Put
            if (existing === undefined && put !== undefined && stamp !== undefined) {
              // A whole new document: keep it whole (a compact row, a small op).
              change = { collection, id, put, stamp }
            } else {
              const incoming = put !== undefined && stamp !== undefined ? Document.fromJson(put, stamp) : delta
              // Decoding guarantees a body; an entry without one is nothing to merge.
              if (incoming === undefined) return
              const fresh = Document.delta(incoming, vv)
              const learned = theirVv !== undefined && !VersionVector.dominates(vv, theirVv)
              if (fresh === undefined && !learned) return
              change = theirVv === undefined
                ? { collection, id, delta: fresh ?? Document.empty() }
                : { collection, id, delta: fresh ?? Document.empty(), vv: theirVv }
            }
            const record = DocFold.fold(existing, change, seq, claimed)
            if (policy !== undefined && !policy.canWrite(collection, existing?.visible, record.visible)) {
              rejected.push({ collection, id })
              return
            }
            // A group's stamp is observed once, after the group (see below).
            if (observeStamp) {
              const top = Op.isPut(change) ? change.stamp : Document.maxStamp(change.delta)
              if (top !== "") Hlc.observe(clock, Stamp.hlc(top))
            }
            records.set(collection, id, record)
            changes.push(change)
            putJson.push(DocFold.putJson(change, record))
          }
          for (const g of groups) {
            const before = changes.length
            g.docs.forEach((doc, i) =>
              mergeOne(g.collection, g.ids?.[i] ?? Json.idOfDocument(doc), undefined, undefined, doc, g.stamp, undefined, false)
            )
            if (changes.length > before) Hlc.observe(clock, Stamp.hlc(g.stamp))
          }
          for (const d of docs) mergeOne(d.collection, d.id, d.base, d.vv, d.put, d.stamp, d.delta, true)
          if (changes.length === 0) {
            yield* reply.succeed({ seq: undefined, rejected, incomplete })
            return
          }
          records.forEach((_c, _id, record) => record !== null && docsOut.push(record))
          ctx.pending.absorb(records)
          const now = wallClock.unsafeCurrentTimeMillis()
          const hlc = Hlc.tick(clock, now)
          const op: Op.Op = { seq, txnId: Op.txnId(site, seq), siteId: site, hlc, origin: "sync", from: SiteId.unsafeFromString(from), changes }
          ctx.commits.push({ op, docs: docsOut, evicted: [], putJson })
          ctx.events.push({ seq, origin: "sync", from, changes, op })
          ctx.settle.push((failure) =>
            failure === undefined
              ? reply.succeed({ seq, rejected, incomplete })
              : reply.fail(failure)
          )
        })
    }))

  /**
   * Whether merging these would change nothing: each document is here at a
   * version covering what the sender has. It reads the committed state,
   * outside the writer (state only grows, so a yes stays true).
   */
  const hasAll = (
    docs: ReadonlyArray<IncomingDoc>,
    groups: ReadonlyArray<Protocol.DeltaGroup & { readonly ids?: ReadonlyArray<string> }>
  ): boolean => {
    for (const d of docs) {
      const theirs = Protocol.senderVersion(d)
      const mine = theirs === undefined ? undefined : store.lookupDoc(d.collection, d.id)
      if (theirs === undefined || mine === undefined || !VersionVector.dominates(mine.vv, theirs)) return false
    }
    for (const g of groups) {
      const theirs = VersionVector.ofStamp(g.stamp)
      for (let i = 0; i < g.docs.length; i++) {
        const mine = store.lookupDoc(g.collection, g.ids?.[i] ?? Json.idOfDocument(g.docs[i]!))
        if (mine === undefined || !VersionVector.dominates(mine.vv, theirs)) return false
      }
    }
    return true
  }

  /** Statements that do not write: SELECT, EXPLAIN, CREATE/DROP INDEX. */
  const readStatement = (
    source: DocSource,
    parsed: Dql.Ast.Statement,
    args: Json.JsonObject
  ): Effect.Effect<Execute.StatementResult, Execute.ExecuteError> => {
    switch (parsed._tag) {
      case "Select":
        return Effect.map(Execute.select(source, parsed, args), (items) => ({
          queryType: "select" as const,
          items,
          mutatedDocumentIds: [],
          warnings: []
        }))
      case "Explain":
        return explain(parsed.statement, args)
      case "CreateIndex":
        return Effect.as(
          store.createIndex(parsed.name, parsed.collection, Dql.Sql.indexExpression(parsed.path)),
          { queryType: "unknown" as const, items: [], mutatedDocumentIds: [], warnings: [] }
        )
      case "DropIndex":
        return Effect.as(store.dropIndex(parsed.name, parsed.ifExists), {
          queryType: "unknown" as const,
          items: [],
          mutatedDocumentIds: [],
          warnings: []
        })
      default:
        return Effect.fail(new InvalidStatement({ message: `${parsed._tag} cannot run here` }))
    }
  }

  const explain = (s: Dql.Ast.Select, args: Json.JsonObject) =>
    Effect.gen(function*() {
      const split = s.where === undefined ? { pushed: undefined, residual: undefined } : Dql.Sql.split(s.where, args)
      const pushed = split.pushed === undefined ? undefined : Dql.Sql.toSql(split.pushed, args, "visible_json")
      const plan = yield* store.explain({ collection: s.collection, where: pushed })
      // Only CREATE INDEX indexes count; the (collection, id) key is always there.
      const index = plan.map((p) => /USING (?:COVERING )?INDEX (idx_\S+)/.exec(p)?.[1]).find((x) => x !== undefined)
      const item: Json.JsonObject = {
        collection: s.collection,
        pushedToSqlite: pushed?.sql ?? null,
        evaluatedInTypeScript: split.residual === undefined ? null : Dql.Printer.printExpr(split.residual),
        index: index ?? null,
        plan: [...plan]
      }
      return { queryType: "select" as const, items: [item], mutatedDocumentIds: [], warnings: [] }
    })

  /** Run one statement: reads straight from the store, writes through the actor. */
  const execute = (statement: string, args: Json.JsonObject = {}): Effect.Effect<ExecuteResult, ExecuteError> =>
    Effect.suspend(() => {
      const parsed = parseSync(statement)
      if (Either.isLeft(parsed)) return Effect.fail(parsed.left)
      const p = parsed.right
      const checked = Dql.Evaluate.checkArgs(p, args)
      if (Either.isLeft(checked)) return Effect.fail(checked.left)
      if (Execute.isWrite(p)) {
        return Effect.map(runTransaction((tx) => tx.write(p, args)), ({ seq, value }) => ({ ...value, transactionId: seq }))
      }
      if (p._tag === "Select") {
        // Point reads skip the general query path (and its effects) entirely.
        const items = Execute.pointRead(store, p, args)
        if (items !== undefined) {
          return Effect.succeed({ queryType: "select" as const, items, mutatedDocumentIds: [], transactionId: store.lastSeq(), warnings: [] })
        }
      }
      return Effect.map(readStatement(base, p, args), (r) => ({ ...r, transactionId: store.lastSeq() }))
    })

  /** Several statements atomically: all commit in one op, or none does. */
  const transaction = <A, E>(body: (tx: Transaction) => Effect.Effect<A, E>) =>
    Effect.map(runTransaction(body), ({ seq, value }) => ({ value, transactionId: seq }))

  /**
   * Run `start`, then `watcher` inside the writer right after every commit
   * (before the writers' calls return), until the scope closes. No commit
   * falls between `start` and the first call: both hold the writer lock.
   * The watcher sees the committed state of each batch, so it must be quick
   * and must not write to this replica. Plain code is cheaper than an effect
   * there (it runs for every commit); a throw or a defect is logged.
   */
  const watch = <A, E, R>(start: Effect.Effect<A, E, R>, watcher: Watcher) =>
    Effect.acquireRelease(
      writerLock.withLock(Effect.tap(start, () => Effect.sync(() => watchers.add(watcher)))),
      () => Effect.sync(() => watchers.delete(watcher))
    )

  /** Commits as they happen (subscribe before reading to miss nothing). */
  const subscribe = PubSub.subscribe(commits)

  return {
    siteId: site,
    store,
    execute,
    transaction,
    merge,
    hasAll,
    subscribe,
    watch,
    commitEvents: Stream.fromPubSub(commits),
    lastSeq: Effect.sync(() => store.lastSeq()),
    /**
     * Commands queued (negative: the actor is waiting for some), whether a
     * batch is being handled, batches handled so far, and how many commands
     * their callers ran themselves on the idle replica (see `ask`).
     */
    status: Effect.map(Queue.size(inbox), (queued) => ({ queued: Math.max(0, queued), inBatch, batchesDone, ranDirectly })),
    /** Read-only statement against the committed state (used by observers). */
    read: (parsed: Dql.Ast.Select, args: Json.JsonObject) => Execute.select(base, parsed, args)
  }
})

export type ReplicaShape = Effect.Effect.Success<typeof make>

export class Replica extends Context.Tag("@shoal/peer/Replica")<Replica, ReplicaShape>() {
  static readonly layer = Layer.scoped(Replica, make)
}
