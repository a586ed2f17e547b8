/**
 * Link: one connected remote peer. Handshake, then a receive loop and a send
 * loop over one `Connection`.
 *
 * Sending: everything the remote subscribed to, computed from the op log
 * after the remote's persisted cursor (so a reconnect costs what changed, not
 * the data set), plus an initial scan per new subscription query. Each doc
 * goes as a delta against the best lower bound of the remote's version
 * vector this link knows (`known`), or as full state. At most `window`
 * Deltas batches are unacknowledged at once (flow control).
 *
 * Receiving: Deltas are merged through the Replica actor (permission-checked)
 * and acknowledged once durable; deltas whose base this replica does not
 * cover are answered with a Summary so the sender resends against it.
 *
 * Any malformed or out-of-order frame ends this link with a typed error;
 * the Mesh reconnects it with backoff. Nothing else is affected.
 */
import { Document, Dql, Json, Op, Protocol, type Stamp, Transport, VersionVector } from "@shoal/core"
import { type DocRecord, type ReplicaStoreShape, StoreError } from "@shoal/store-sqlite"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Mailbox from "effect/Mailbox"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { docKey } from "./internal/DocSource.js"
import { KnownVersions } from "./internal/KnownVersions.js"
import type { IncomingDoc, ReplicaShape } from "./Replica.js"

export class LinkError extends Schema.TaggedError<LinkError>()("LinkError", {
  remote: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `link to ${this.remote}: ${this.reason}`
  }
}

/** The remote refused us (or we it) during the handshake. */
export class LinkRejected extends Schema.TaggedError<LinkRejected>()("LinkRejected", {
  remote: Schema.String,
  reason: Schema.String,
  byRemote: Schema.Boolean
}) {
  override get message() {
    return `link to ${this.remote} rejected${this.byRemote ? " by the remote" : ""}: ${this.reason}`
  }
}

/** What the local side lets a remote read and write (from its token). */
export interface RemoteGrant {
  readonly userId?: string
  readonly canRead: (collection: string, doc: Json.JsonObject | undefined) => boolean
  readonly canWrite: (collection: string, before: Json.JsonObject | undefined, after: Json.JsonObject | undefined) => boolean
  /** Epoch ms when the remote's credential expires: the link ends then with Reject "token expired". */
  readonly expiresAt?: number
}

export const allowAll: RemoteGrant = { canRead: () => true, canWrite: () => true }

export interface LinkAuth {
  /** The credential this peer presents in its Hello. */
  readonly token: Effect.Effect<string | undefined>
  /** Admit a remote from its Hello, or refuse it with a reason sent in Reject. */
  readonly admit: (hello: Protocol.Hello) => Effect.Effect<RemoteGrant, string>
}

/** offline-playground: no credentials, everything allowed. */
export const openAuth: LinkAuth = { token: Effect.succeed(undefined), admit: () => Effect.succeed(allowAll) }

export interface LocalIdentity {
  readonly siteId: Protocol.Hello["siteId"]
  readonly networkId: number
  readonly deviceName: string
  readonly appIdHash: number
  readonly relay: boolean
}

export interface RemoteInfo {
  readonly siteId: string
  readonly networkId: number
  readonly deviceName: string
  readonly relay: boolean
}

export interface LinkHooks {
  /** Queries to send to this remote (local subscriptions + relayed ones). Re-sent on change. */
  readonly queriesFor: (linkId: string) => Stream.Stream<ReadonlyArray<Protocol.Query>>
  /** The queries to send this remote now (what `queriesFor` starts with). */
  readonly currentQueries: (linkId: string) => Effect.Effect<ReadonlyArray<Protocol.Query>>
  /** The remote's queries changed (for relaying to other links). */
  readonly remoteQueries: (linkId: string, queries: ReadonlyArray<Protocol.Query>) => Effect.Effect<void>
  /** After the handshake: false means a link to this remote already exists (this one closes). */
  readonly register: (
    linkId: string,
    remote: RemoteInfo,
    dialed: boolean,
    close: Effect.Effect<void>
  ) => Effect.Effect<boolean>
  readonly unregister: (linkId: string) => Effect.Effect<void>
  /** Docs this peer evicted: never accept them again unless re-subscribed. */
  readonly isEvicted: (collection: string, id: string) => boolean
  /** Whether this peer evicted anything at all (skips per-document checks when not). */
  readonly anyEvicted: () => boolean
  /** Writes a remote refused (reported with WriteRejected). */
  readonly rejected: (remote: string, message: Protocol.WriteRejected) => Effect.Effect<void>
  /** Initial-sync progress of a remote scan (sender side). */
  readonly progress: (remote: string, progress: Protocol.Progress) => Effect.Effect<void>
}

export interface LinkOptions {
  /**
   * `Deltas` batches this side sends unacknowledged at once (flow control,
   * default 8). Keep it at 2 or more: a receiver may hold back the Ack of
   * one small batch for its `ackDelay`, and a window of 1 would then wait
   * for it every time.
   */
  readonly window?: number
  /** Documents per `Deltas` batch at most (default 2000). */
  readonly maxBatchDocs?: number
  /** Approximate bytes per `Deltas` batch at most (default 1 MiB). */
  readonly maxBatchBytes?: number
  /** Time for the remote's `Hello` and `Welcome` before the link fails (default 10 s). */
  readonly handshakeTimeout?: Duration.DurationInput
  /**
   * How long the Ack of a small batch of the op stream may wait (default
   * 100 ms; 0 acks every batch at once). Only one batch waits: the next one
   * is acknowledged at once, together with it (Acks are cumulative). Initial
   * sync pages, refused writes and batches of more than 16 entries are
   * acknowledged at once, and an Ack still owed is sent when the link ends.
   */
  readonly ackDelay?: Duration.DurationInput
  /**
   * The version to announce (default `Protocol.PROTOCOL_VERSION`): an older
   * minor makes this peer behave as a peer of that version would (tests of
   * mixed versions).
   */
  readonly protocolVersion?: Protocol.ProtocolVersion
}

/** Bytes and frames on the wire, added up across links (mutable counters). */
export interface Traffic {
  framesSent: number
  bytesSent: number
  framesReceived: number
  bytesReceived: number
}


interface CompiledQuery {
  readonly query: Protocol.Query
  readonly where: Dql.Ast.Expr | undefined
  /** Top-level fields the predicate reads: a change to one may move a document out of the query. */
  readonly fields: ReadonlySet<string>
}

const NONE: ReadonlySet<string> = new Set()

/**
 * Top-level fields an update of an existing document writes. Whole documents
 * and deltas that write `_id` create documents (UPDATE never writes `_id`),
 * and removals travel anyway: none of those can move a document out.
 */
const touched = (change: Op.Change | Op.Put): ReadonlySet<string> =>
  Op.isPut(change) || change.delta.b !== undefined || "_id" in change.delta.f ? NONE : new Set(Object.keys(change.delta.f))

/**
 * Whether a change may have moved a document out of one of these queries: it
 * wrote a field a predicate reads. Such a document is sent even though it no
 * longer matches, so that the remote's copy stops matching too.
 */
const mayLeave = (queries: ReadonlyArray<CompiledQuery>, collection: string, fields: ReadonlySet<string>) =>
  fields.size > 0 &&
  queries.some((q) =>
    (q.query.collection === collection || q.query.collection === ALL_COLLECTIONS) && q.where !== undefined &&
    [...q.fields].some((f) => fields.has(f))
  )

const hasTag = <T extends Protocol.Message["_tag"]>(m: Protocol.Message, tag: T): m is Extract<Protocol.Message, { _tag: T }> =>
  m._tag === tag

// Debug tracing of chosen documents' journey across links (SHOAL_TRACE_DOCS=substring).
const traceFilter = typeof process !== "undefined" ? process.env.SHOAL_TRACE_DOCS : undefined
const trace = (id: string, line: () => string) => {
  if (traceFilter !== undefined && id.includes(traceFilter)) console.error(`[trace] ${line()}`)
}

/** A wire entry as the Replica takes it (a delta, or a whole document and its stamp). */
/** Whether a replica at `vv` already has everything this op change wrote. */
const covered = (change: Op.Change | Op.Put, vv: VersionVector.VersionVector): boolean =>
  Op.isPut(change)
    ? !VersionVector.isNew(vv, change.stamp)
    : Document.delta(change.delta, vv) === undefined && (change.vv === undefined || VersionVector.dominates(vv, change.vv))


/** Whether two query lists (sorted by id) are the same queries. */
export const sameQueries = (a: ReadonlyArray<Protocol.Query>, b: ReadonlyArray<Protocol.Query>): boolean =>
  a.length === b.length && a.every((q, i) => q.id === b[i]!.id)

/** Stable identity of a query by content, so relayed copies dedupe across cycles. */
export const queryKey = (q: { readonly collection: string; readonly where?: string | undefined; readonly args: Json.JsonObject }) =>
  JSON.stringify([q.collection, q.where ?? "", q.args])

const compile = (q: Protocol.Query): Either.Either<CompiledQuery, string> => {
  if (q.where === undefined) return Either.right({ query: q, where: undefined, fields: new Set() })
  const parsed = Dql.Parser.parseExpression(q.where)
  return Either.isLeft(parsed)
    ? Either.left(`bad subscription query ${JSON.stringify(q.where)}: ${parsed.left.message}`)
    : Either.right({ query: q, where: parsed.right, fields: Dql.Ast.topLevelFields(parsed.right) })
}

/** A query on this collection name matches every collection (a Big Peer's "everything"). */
export const ALL_COLLECTIONS = "*"

/** Documents in the first page of an initial sync (later pages: `maxBatchDocs`). */
const FIRST_SCAN_PAGE = 200
/**
 * How long the Ack of a small op-stream batch may wait (see `ackDelay`).
 * Long enough that, in a mesh, the Acks of one write's propagation come
 * after it instead of competing with it for the CPU.
 */
const DEFAULT_ACK_DELAY = Duration.millis(100)
/** How long a failed send waits for the remote's Reject to be read (it explains the failure). */
const REASON_GRACE = Duration.seconds(1)
/** Entries (documents or groups) of a batch whose Ack may wait. */
const DELAYED_ACK_MAX_ENTRIES = 16
/** Ops one pass of the op stream considers at most. */
const OPS_PER_PASS = 256
/** Committed ops a link keeps from its commit events. */
const RECENT_OPS = 1024

const matchesAny = (queries: ReadonlyArray<CompiledQuery>, collection: string, doc: Json.JsonObject | undefined) =>
  queries.some((q) =>
    (q.query.collection === collection || q.query.collection === ALL_COLLECTIONS) &&
    (doc === undefined || q.where === undefined || Dql.Evaluate.matches(q.where, doc, q.query.args))
  )

export interface LinkDeps {
  readonly connection: Transport.Connection
  readonly dialed: boolean
  readonly replica: ReplicaShape
  readonly store: ReplicaStoreShape
  readonly local: LocalIdentity
  readonly auth: LinkAuth
  readonly hooks: LinkHooks
  readonly options?: LinkOptions
  readonly traffic?: Traffic
}

/**
 * Run one link until the connection ends. Succeeds on a clean end
 * (Goodbye, close, duplicate); fails with LinkError / LinkRejected otherwise.
 */
export const run = (deps: LinkDeps): Effect.Effect<void, LinkError | LinkRejected, Scope.Scope> =>
  Effect.gen(function*() {
    const { auth, connection: conn, hooks, local, replica, store } = deps
    const window = deps.options?.window ?? 8
    const maxBatchDocs = deps.options?.maxBatchDocs ?? 2000
    const maxBatchBytes = deps.options?.maxBatchBytes ?? 1024 * 1024
    const ackDelay = Duration.decode(deps.options?.ackDelay ?? DEFAULT_ACK_DELAY)
    const delayAcks = Duration.toMillis(ackDelay) > 0
    const remoteName = conn.remoteAddress
    const fail = (reason: string) => new LinkError({ remote: remoteName, reason })

    const send = (msg: Protocol.Message) =>
      Effect.suspend(() => {
        const bytes = Protocol.encode(msg)
        if (deps.traffic !== undefined) {
          deps.traffic.framesSent++
          deps.traffic.bytesSent += bytes.length
        }
        return conn.send(bytes)
      }).pipe(Effect.mapError((e) => fail(`send failed: ${e.reason}`)))

    // Frames come in chunks (whatever arrived together); they are handed out
    // one at a time from the current chunk, so a burst costs one pull, and a
    // frame already here costs one effect (a mesh hop reads several).
    const pull = yield* Transport.reader(conn)
    let buffered: ReadonlyArray<Uint8Array> = []
    let nextIndex = 0
    const decodeFrame = (bytes: Uint8Array): Effect.Effect<Option.Option<Protocol.Message>, LinkError> => {
      if (deps.traffic !== undefined) {
        deps.traffic.framesReceived++
        deps.traffic.bytesReceived += bytes.length
      }
      const decoded = Protocol.decode(bytes)
      return Either.isLeft(decoded)
        ? Effect.fail(fail(`bad frame (${decoded.left.reason}): ${decoded.left.message}`))
        : Effect.succeed(Option.some(decoded.right))
    }
    const next: Effect.Effect<Option.Option<Protocol.Message>, LinkError> = Effect.suspend(() => {
      if (nextIndex < buffered.length) return decodeFrame(buffered[nextIndex++]!)
      return Effect.matchEffect(pull, {
        // An empty chunk is not the end: pull again.
        onSuccess: (chunk) => {
          buffered = Chunk.toReadonlyArray(chunk)
          nextIndex = 0
          return next
        },
        onFailure: Option.match({
          onNone: () => Effect.succeed(Option.none<Protocol.Message>()),
          onSome: (e) => Effect.fail(fail(`connection lost: ${e.reason}`))
        })
      })
    })
    const expect = <T extends Protocol.Message["_tag"]>(
      tag: T
    ): Effect.Effect<Extract<Protocol.Message, { _tag: T }>, LinkError | LinkRejected> =>
      next.pipe(
        Effect.timeoutFail({
          duration: deps.options?.handshakeTimeout ?? "10 seconds",
          onTimeout: () => fail(`no ${tag} within the handshake timeout`)
        }),
        Effect.flatMap((opt): Effect.Effect<Extract<Protocol.Message, { _tag: T }>, LinkError | LinkRejected> => {
          if (Option.isNone(opt)) return Effect.fail(fail(`closed during handshake (waiting for ${tag})`))
          const m = opt.value
          if (hasTag(m, tag)) return Effect.succeed(m)
          if (m._tag === "Reject") return Effect.fail(new LinkRejected({ remote: remoteName, reason: m.reason, byRemote: true }))
          return Effect.fail(fail(`expected ${tag}, got ${m._tag}`))
        })
      )

    // ---------------------------------------------------------------- handshake
    const announced = deps.options?.protocolVersion ?? Protocol.PROTOCOL_VERSION
    const token = yield* auth.token
    yield* send({
      _tag: "Hello",
      protocolVersion: announced,
      appIdHash: local.appIdHash,
      siteId: local.siteId,
      networkId: local.networkId,
      deviceName: local.deviceName,
      relay: local.relay,
      ...(token === undefined ? {} : { token })
    })
    const hello = yield* expect("Hello")
    const refuse = (reason: string) =>
      send({ _tag: "Reject", reason }).pipe(
        Effect.ignore,
        Effect.zipRight(conn.close(reason)),
        Effect.zipRight(Effect.fail(new LinkRejected({ remote: remoteName, reason, byRemote: false })))
      )
    const version = Protocol.negotiate(hello)
    if (Either.isLeft(version)) return yield* refuse(version.left)
    if (hello.appIdHash !== local.appIdHash) return yield* refuse("different app")
    if (hello.siteId === local.siteId) return yield* refuse("connected to itself")
    const grant = yield* Effect.either(auth.admit(hello))
    if (Either.isLeft(grant)) return yield* refuse(grant.left)
    // The remote may have refused our Hello and closed already: then the
    // Welcome cannot go out, and its Reject, read next, says why. (After the
    // handshake the receiver loop reads on in the same way; see `background`.)
    const orTheirReject = (failure: LinkError): Effect.Effect<never, LinkError | LinkRejected> =>
      next.pipe(
        Effect.timeout(REASON_GRACE),
        Effect.matchEffect({
          onSuccess: (m): Effect.Effect<never, LinkError | LinkRejected> =>
            Option.isSome(m) && m.value._tag === "Reject"
              ? Effect.fail(new LinkRejected({ remote: remoteName, reason: m.value.reason, byRemote: true }))
              : Effect.fail(failure),
          onFailure: () => Effect.fail(failure)
        })
      )
    yield* send({
      _tag: "Welcome",
      protocolVersion: announced,
      siteId: local.siteId,
      networkId: local.networkId,
      deviceName: local.deviceName
    }).pipe(Effect.catchAll(orTheirReject))
    yield* expect("Welcome")
    const remote: RemoteInfo = { siteId: hello.siteId, networkId: hello.networkId, deviceName: hello.deviceName, relay: hello.relay }
    const linkId = conn.id
    const registered = yield* hooks.register(linkId, remote, deps.dialed, conn.close("duplicate link"))
    if (!registered) {
      yield* send({ _tag: "Goodbye", reason: "duplicate link" }).pipe(Effect.ignore)
      yield* conn.close("duplicate link")
      return
    }
    yield* Effect.addFinalizer(() => hooks.unregister(linkId))
    // The remote sends nothing before it has our queries: they go out now,
    // not once the subscriber stream below has started (a few ms in a cold
    // process, a good part of a reconnect).
    let sentQueries = yield* hooks.currentQueries(linkId)
    yield* send({ _tag: "Subscribe", queries: sentQueries })
    const remoteSite = hello.siteId
    const permissions = grant.right

    // ---------------------------------------------------------------- shared state
    /** Lower bounds of the remote's version vector per doc. */
    const known = new KnownVersions()
    /** Docs the remote evicted: not re-sent unless it subscribes to them again. */
    const remoteEvicted = new Set<string>()
    /** Ops of the latest commits, oldest first (see the commit watcher). */
    const recent: Array<Op.Op> = []
    let remoteQueries: ReadonlyArray<CompiledQuery> = []
    const cursor = yield* store.getCursor(remoteSite).pipe(Effect.mapError((e) => fail(e.message)))
    let synced = new Set(cursor.syncedQueries)
    let sentSeq = cursor.ackedSeq
    let ackedSeq = cursor.ackedSeq
    const scans: Array<{
      key: string
      query: CompiledQuery
      afterCollection: string
      afterId: string
      sent: number
      total: number
      snapshot?: number
    }> = []
    const resend: Array<{ collection: string; id: string }> = []
    let batchNo = 0
    let expectedBatch = 1
    const inflight = new Map<number, { upToSeq?: number; scanDone?: string; resent?: ReadonlyArray<string> }>()
    // While the remote waits for documents it asked again for (Summary), the
    // persisted cursor stays where it was when it asked: if the link drops
    // before the resend is acknowledged, the next link sends them again.
    const awaitingResend = new Set<string>()
    let frozenAt: number | undefined
    // Flow control: batches sent and not yet acknowledged, at most `window`.
    // A counter (only the sender takes, only Acks give back) and a wake-up
    // for when it is full: a Semaphore's take costs a dozen effects even
    // when a permit is free, on every batch.
    let unacked = 0
    const roomMade = yield* Mailbox.make<void>({ capacity: 1, strategy: "sliding" })
    const takeSlot: Effect.Effect<void> = Effect.suspend(() => {
      if (unacked < window) {
        unacked++
        return Effect.void
      }
      return Effect.zipRight(Effect.orDie(roomMade.take), takeSlot)
    })
    // A Mailbox rather than a Queue: a Queue's take on an empty queue makes a
    // Deferred (about 2 µs, a visible share of a mesh hop), a Mailbox's does not.
    const wake = yield* Mailbox.make<void>({ capacity: 1, strategy: "sliding" })
    // Nothing is streamed before the remote said what it wants: ops skipped
    // for want of queries would be acknowledged and never sent.
    const subscribed = yield* Deferred.make<void>()
    const poke = Effect.sync(() => void wake.unsafeOffer(undefined))
    /** The sender waits for a poke with nothing left to do (see the commit watcher). */
    let senderIdle = false

    const cursorNow = () => ({
      ackedSeq: frozenAt === undefined ? ackedSeq : Math.min(ackedSeq, frozenAt),
      syncedQueries: [...synced]
    })
    const writeCursor = Effect.suspend(() => {
      cursorDirty = false
      return store.setCursor(remoteSite, cursorNow())
    }).pipe(
      Effect.mapError((e) => fail(e.message))
    )
    // Acknowledged seqs are written a little later, with the other links'
    // cursors (`setCursorSoon`), and exactly when the link ends. Changes of
    // the synced queries are written at once (redoing a scan is not little).
    let cursorDirty = false
    const persistCursorNow = (): void => {
      cursorDirty = true
      store.setCursorSoonNow(remoteSite, cursorNow())
    }
    const persistCursor = Effect.sync(persistCursorNow)
    yield* Effect.addFinalizer(() => Effect.suspend(() => (cursorDirty ? Effect.ignore(writeCursor) : Effect.void)))
    /**
     * The remote has everything it needs up to `seq` without another batch
     * (the ops were its own, known to it, or outside its queries): the
     * cursor moves there, as an Ack would move it.
     */
    const acknowledgedUpToNow = (seq: number): void => {
      if (seq <= ackedSeq) return
      // Batches still unacknowledged: the cursor may pass them only once
      // they are acknowledged, so the newest one carries the move.
      const last = inflight.get(batchNo)
      if (last !== undefined) {
        if (last.upToSeq === undefined || last.upToSeq < seq) last.upToSeq = seq
        return
      }
      ackedSeq = seq
      persistCursorNow()
    }
    const acknowledgedUpTo = (seq: number): Effect.Effect<void> => Effect.sync(() => acknowledgedUpToNow(seq))

    // ---------------------------------------------------------------- sending
    interface Outgoing {
      entries: Array<Protocol.DeltaEntry>
      /** Whole documents by collection and stamp (when the remote speaks 1.1+). */
      groups: Array<{ readonly collection: string; readonly stamp: Stamp.Stamp; readonly docs: Array<Json.JsonObject> }>
      /** Documents in entries and groups. */
      count: number
      bytes: number
    }
    const batch: Outgoing = { entries: [], groups: [], count: 0, bytes: 0 }
    const useGroups = Math.min(version.right.minor, announced.minor) >= Protocol.GROUPS_MINOR

    /** What a batch completes: op-log seq, initial scan, resent documents; and scan progress. */
    interface BatchMeta {
      readonly upToSeq?: number
      readonly scanDone?: string
      readonly resent?: ReadonlyArray<string>
      readonly progress?: Protocol.Progress
    }
    const flush = (meta: BatchMeta): Effect.Effect<void, LinkError> =>
      Effect.suspend(() => {
        if (
          batch.count === 0 && meta.upToSeq === undefined && meta.scanDone === undefined &&
          meta.resent === undefined
        ) return Effect.void
        if (
          batch.count === 0 && meta.upToSeq !== undefined && meta.scanDone === undefined &&
          meta.resent === undefined
        ) {
          // Nothing to send: the remote has all it needs up to `upToSeq` (the
          // ops were its own, already known to it, or outside its queries).
          // An empty batch would only come back as an Ack; move the cursor
          // here instead (with the newest unacknowledged batch, if any). In a
          // mesh this halves the frames.
          return acknowledgedUpTo(meta.upToSeq)
        }
        // No generator: every frame a mesh hop forwards comes through here.
        return Effect.zipRight(takeSlot, sendBatch(meta))
      })
    const sendBatch = (meta: BatchMeta) =>
      Effect.suspend(() => {
        batchNo++
        inflight.set(batchNo, {
          ...(meta.upToSeq === undefined ? {} : { upToSeq: meta.upToSeq }),
          ...(meta.scanDone === undefined ? {} : { scanDone: meta.scanDone }),
          ...(meta.resent === undefined ? {} : { resent: meta.resent })
        })
        const docs = batch.entries
        const groups = batch.groups
        batch.entries = []
        batch.groups = []
        batch.count = 0
        batch.bytes = 0
        return send({
          _tag: "Deltas",
          batch: batchNo,
          docs,
          ...(groups.length === 0 ? {} : { groups }),
          ...(meta.upToSeq === undefined ? {} : { upToSeq: meta.upToSeq }),
          ...(meta.progress === undefined ? {} : { progress: meta.progress })
        })
      })

    /**
     * Queue one document for the remote if it wants it and lacks something.
     * A plain function (no effect per document): initial syncs call it for
     * every document. Throws `StoreError` when it has to read and cannot.
     */
    const offerDoc = (collection: string, id: string, force: boolean | "leaving", read?: DocRecord): void => {
      if (force !== true && remoteEvicted.size > 0 && remoteEvicted.has(docKey(collection, id))) return
      const record = read ?? store.lookupDoc(collection, id)
      if (record === undefined) return
      const wanted = force !== false || matchesAny(remoteQueries, collection, record.visible) || known.has(collection, id)
      if (!wanted || !permissions.canRead(collection, record.visible)) {
        if (traceFilter !== undefined) trace(id, () => `${local.deviceName}->${remoteName} skip ${id} wanted=${wanted} queries=${remoteQueries.length}`)
        return
      }
      const base = known.get(collection, id)
      batch.bytes += (record.stateJson ?? record.visibleJson ?? "").length
      if (base === undefined && record.stamp !== null && record.visible !== undefined) {
        // A document one write made whole travels as its JSON and stamp.
        if (traceFilter !== undefined) trace(id, () => `${local.deviceName}->${remoteName} offer ${id} whole batch=${batchNo + 1}`)
        known.set(collection, id, record.stamp)
        batch.count++
        if (useGroups && Json.idOfDocument(record.visible) === id) {
          const last = batch.groups[batch.groups.length - 1]
          if (last !== undefined && last.collection === collection && last.stamp === record.stamp) last.docs.push(record.visible)
          else batch.groups.push({ collection, stamp: record.stamp, docs: [record.visible] })
          return
        }
        batch.entries.push({ collection, id, put: record.visible, stamp: record.stamp })
        return
      }
      const delta = base === undefined ? record.state : Document.delta(record.state, base)
      if (traceFilter !== undefined) trace(id, () => `${local.deviceName}->${remoteName} offer ${id} base=${JSON.stringify(base)} vv=${record.vvJson} send=${delta !== undefined} batch=${batchNo + 1}`)
      if (delta === undefined) return
      known.set(collection, id, VersionVector.merge(base ?? VersionVector.empty, record.vv))
      batch.count++
      batch.entries.push(
        base === undefined ? { collection, id, vv: record.vv, delta } : { collection, id, base, vv: record.vv, delta }
      )
    }

    /** Run plain per-document code as one effect, store failures ending the link. */
    const offering = (f: () => void) =>
      Effect.try({ try: f, catch: (e) => fail(e instanceof StoreError ? e.message : `offering documents: ${String(e)}`) })

    const full = () => batch.count >= maxBatchDocs || batch.bytes >= maxBatchBytes

    /** Ops after `sentSeq`, as deltas of the documents they touched. */
    const streamOps = Effect.gen(function*() {
      const top = store.lastSeq()
      if (top <= sentSeq) return false
      while (recent.length > 0 && recent[0]!.seq <= sentSeq) recent.shift()
      const fromEvents = recent.length > 0 && recent[0]!.seq === sentSeq + 1 && recent[recent.length - 1]!.seq === top
      // Every op up to `through` is considered by this pass (those merged from
      // this remote need nothing: it has them).
      let through = top
      let ops: ReadonlyArray<Op.Op>
      if (fromEvents) {
        const taken = recent.splice(0, OPS_PER_PASS)
        through = taken[taken.length - 1]!.seq
        ops = taken.filter((op) => op.from !== remoteSite)
      } else {
        ops = yield* store.readOpsNotFrom(sentSeq, remoteSite, OPS_PER_PASS).pipe(Effect.mapError((e) => fail(e.message)))
        if (ops.length === OPS_PER_PASS) through = ops[ops.length - 1]!.seq
      }
      if (ops.length === 0) {
        // Only ops merged from this remote: nothing to send, the cursor moves on.
        sentSeq = through
        yield* flush({ upToSeq: sentSeq })
        return true
      }
      const seen = new Set<string>()
      const evictions: Array<Protocol.SummaryEntry> = []
      for (const op of ops) {
        for (const change of op.changes) {
          if ("evict" in change) {
            evictions.push({ collection: change.collection, id: change.id, vv: {}, evicted: true })
            continue
          }
          const key = docKey(change.collection, change.id)
          if (seen.has(key)) continue
          // What the remote is known to have already (typically: it sent it
          // to us) is not read back from the store at all.
          const theirs = known.get(change.collection, change.id)
          if (theirs !== undefined && covered(change, theirs)) continue
          seen.add(key)
          const leaving = mayLeave(remoteQueries, change.collection, touched(change))
          yield* offering(() => offerDoc(change.collection, change.id, leaving ? "leaving" : false))
          // A batch cut inside an op completes only the ops before it: acking
          // it must not move the cursor past documents still to be sent.
          if (full()) yield* flush({ upToSeq: op.seq - 1 })
        }
        sentSeq = op.seq
      }
      if (evictions.length > 0) yield* send({ _tag: "Summary", docs: evictions })
      // Ops of this remote after the last one sent were considered too.
      if (through > sentSeq) sentSeq = through
      yield* flush({ upToSeq: sentSeq })
      return true
    })

    /** One page of the initial sync of a newly subscribed query. */
    const scanPage = Effect.gen(function*() {
      const scan = scans[0]
      if (scan === undefined) return false
      const collection = scan.query.query.collection
      // A short first page gets the remote started while the next pages are read.
      const limit = scan.sent === 0 ? Math.min(maxBatchDocs, FIRST_SCAN_PAGE) : maxBatchDocs
      const page = yield* (collection === ALL_COLLECTIONS
        ? store.scanAllDocs(scan.afterCollection, scan.afterId, limit)
        : store.scanDocs(collection, scan.afterId, limit)).pipe(Effect.mapError((e) => fail(e.message)))
      const only = [scan.query]
      yield* offering(() => {
        for (const record of page) {
          scan.afterCollection = record.collection
          scan.afterId = record.id
          if (record.visible === undefined || !matchesAny(only, record.collection, record.visible)) continue
          if (remoteEvicted.size > 0) remoteEvicted.delete(docKey(record.collection, record.id))
          offerDoc(record.collection, record.id, false, record)
          scan.sent++
        }
      })
      const done = page.length < limit
      if (done) scans.shift()
      yield* flush({
        ...(done ? { scanDone: scan.key } : {}),
        ...(done && scan.snapshot !== undefined ? { upToSeq: scan.snapshot } : {}),
        progress: { queryId: scan.key, sent: scan.sent, total: Math.max(scan.total, scan.sent) }
      })
      return true
    })

    const resendRequested = Effect.gen(function*() {
      if (resend.length === 0) return false
      const docs = resend.splice(0, resend.length)
      let sent: Array<string> = []
      for (const d of docs) {
        yield* offering(() => offerDoc(d.collection, d.id, true))
        sent.push(docKey(d.collection, d.id))
        if (full()) {
          yield* flush({ resent: sent })
          sent = []
        }
      }
      yield* flush({ resent: sent })
      return true
    })

    const sender = Effect.gen(function*() {
      yield* Deferred.await(subscribed)
      // The checks in front of each step keep a wake-up with nothing to do
      // (most of them, in a mesh) from building the steps' effects at all.
      while (true) {
        const a = resend.length > 0 && (yield* resendRequested)
        const b = scans.length > 0 && (yield* scanPage)
        const c = store.lastSeq() > sentSeq && (yield* streamOps)
        if (!a && !b && !c) {
          senderIdle = true
          yield* Effect.orDie(wake.take) // never ended: only the link's scope stops it
          senderIdle = false
        }
      }
    })

    // Wake the sender on every commit (the op log is the source of truth),
    // keeping the committed ops: a link that is caught up sends from them
    // without reading the op log back (bounded; any gap reads the store).
    // The watcher runs inside the replica's writer right after each commit:
    // no fiber or queue of its own per commit, only the poke.
    //
    // A commit that only merged what this remote sent needs nothing sent back
    // (each hop of a mesh makes one): when the sender is idle and caught up,
    // the cursor moves here, as the sender's quiet advance would, without
    // waking it.
    yield* replica.watch(Effect.void, (events) => {
      const first = events[0]
      if (
        senderIdle && first !== undefined && sentSeq === first.seq - 1 && recent.length === 0 &&
        batch.count === 0 && scans.length === 0 && resend.length === 0 &&
        frozenAt === undefined && Option.getOrElse(wake.unsafeSize(), () => 0) === 0 &&
        events.every((e) => e.from === remoteSite)
      ) {
        sentSeq = events[events.length - 1]!.seq
        acknowledgedUpToNow(sentSeq)
        return
      }
      for (const e of events) recent.push(e.op)
      if (recent.length > RECENT_OPS) recent.splice(0, recent.length - RECENT_OPS)
      wake.unsafeOffer(undefined)
    })

    // Local (and relayed) queries to the remote, re-sent when they change.
    const subscriber = hooks.queriesFor(linkId).pipe(
      Stream.runForEach((queries) => {
        if (sameQueries(queries, sentQueries)) return Effect.void
        sentQueries = queries
        return send({ _tag: "Subscribe", queries })
      })
    )

    // ---------------------------------------------------------------- receiving
    const onSubscribe = (msg: Protocol.Subscribe) =>
      Effect.gen(function*() {
        const compiled: Array<CompiledQuery> = []
        for (const q of msg.queries) {
          const c = compile(q)
          if (Either.isLeft(c)) return yield* Effect.fail(fail(c.left))
          compiled.push(c.right)
        }
        remoteQueries = compiled
        const keys = new Set(compiled.map((c) => queryKey(c.query)))
        // A query the remote dropped must be scanned again if it comes back.
        const before = synced.size
        synced = new Set([...synced].filter((k) => keys.has(k)))
        // A remote that has nothing of ours yet gets a snapshot: every query
        // scanned (sequential reads of `docs`, whole documents), and the op
        // stream resumes after the snapshot's seq instead of replaying the log.
        const fresh = sentSeq === 0 && batchNo === 0 && synced.size === 0 && scans.length === 0 && compiled.length > 0
        const snapshot = fresh ? store.lastSeq() : undefined
        if (snapshot !== undefined) sentSeq = snapshot
        for (const c of compiled) {
          const key = queryKey(c.query)
          if (synced.has(key) || scans.some((s) => s.key === key)) continue
          // An estimate for progress (a query's predicate may match fewer):
          // counting the rows would hold the first page back ~10 ms per 100k.
          const total = store.keyCount(c.query.collection === ALL_COLLECTIONS ? undefined : c.query.collection)
          scans.push({ key, query: c, afterCollection: "", afterId: "", sent: 0, total })
        }
        // The cursor may reach the snapshot once the last of its scans is acknowledged.
        const last = scans[scans.length - 1]
        if (snapshot !== undefined && last !== undefined) last.snapshot = snapshot
        if (synced.size !== before) yield* writeCursor
        yield* hooks.remoteQueries(linkId, msg.queries)
        yield* Deferred.succeed(subscribed, undefined)
        yield* poke
      })

    const onDeltas = (msg: Protocol.Deltas) =>
      Effect.gen(function*() {
        if (msg.batch !== expectedBatch) {
          return yield* Effect.fail(fail(`out-of-order frame: batch ${msg.batch}, expected ${expectedBatch}`))
        }
        expectedBatch++
        if (msg.progress !== undefined) yield* hooks.progress(remoteSite, msg.progress)
        // Entries go to the merge as decoded (decoding checked each has a body);
        // a group's ids are computed once, here.
        const received = (msg.groups ?? []).map((g) => ({ ...g, ids: g.docs.map(Json.idOfDocument) }))
        const evicting = hooks.anyEvicted() && (
          msg.docs.some((d) => hooks.isEvicted(d.collection, d.id)) ||
          received.some((g) => g.ids.some((id) => hooks.isEvicted(g.collection, id)))
        )
        const docs: ReadonlyArray<IncomingDoc> = evicting ? msg.docs.filter((d) => !hooks.isEvicted(d.collection, d.id)) : msg.docs
        const groups = !evicting ? received : received.map((g) => {
          const keep = g.ids.map((id) => !hooks.isEvicted(g.collection, id))
          return { ...g, docs: g.docs.filter((_, i) => keep[i]), ids: g.ids.filter((_, i) => keep[i]) }
        })
        const result = yield* replica.merge(remoteSite, docs, { canWrite: permissions.canWrite }, groups).pipe(
          Effect.mapError((e) => fail(`merge failed: ${e.message}`))
        )
        // The remote has at least what it sent us, except what we refused or
        // could not take. (The op this merge committed records the remote as
        // its source, so this link's own op stream skips it regardless.)
        const refused = result.rejected.length + result.incomplete.length === 0
          ? undefined
          : new Set([...result.rejected, ...result.incomplete].map((r) => docKey(r.collection, r.id)))
        // A whole document's stamp replaces what was known of it: `known` is a
        // lower bound, and a smaller one only costs bytes later, never data.
        // (One map write per document: initial syncs take this path.)
        for (const g of groups) {
          if (refused === undefined) known.setGroup(g.collection, g.stamp, g.ids)
          else for (const id of g.ids) if (!refused.has(docKey(g.collection, id))) known.set(g.collection, id, g.stamp)
        }
        for (const d of docs) {
          if (refused !== undefined && refused.has(docKey(d.collection, d.id))) continue
          const prior = known.entry(d.collection, d.id)
          if (prior === undefined && d.vv === undefined && d.put !== undefined && d.stamp !== undefined) {
            known.set(d.collection, d.id, d.stamp)
            continue
          }
          const theirs = Protocol.senderVersion(d) ?? VersionVector.empty
          const before = prior === undefined ? undefined : known.get(d.collection, d.id)
          known.set(d.collection, d.id, before === undefined ? theirs : VersionVector.merge(before, theirs))
        }
        for (const d of traceFilter === undefined ? [] : docs) {
          trace(d.id, () => `${local.deviceName}<-${remoteName} got ${d.id} batch=${msg.batch} base=${JSON.stringify(d.base)} seq=${result.seq} incomplete=${result.incomplete.some((x) => x.id === d.id)}`)
        }
        // The Summary goes before the Ack so that the sender holds its cursor
        // back until it has resent these documents.
        if (result.incomplete.length > 0) {
          yield* send({ _tag: "Summary", docs: result.incomplete.map((d) => ({ collection: d.collection, id: d.id, vv: d.vv })) })
        }
        // After a merge that changed something, the links it woke send first:
        // the Ack is only flow control, forwarding is what a mesh waits for.
        if (result.seq !== undefined) yield* Effect.yieldNow()
        ackOwed = { batch: msg.batch, ...(msg.upToSeq === undefined ? {} : { upToSeq: msg.upToSeq }) }
        ackOwedCount++
        if (
          delayAcks && ackOwedCount === 1 && msg.progress === undefined && result.rejected.length === 0 &&
          msg.docs.length + (msg.groups?.length ?? 0) <= DELAYED_ACK_MAX_ENTRIES
        ) {
          ackDue.unsafeOffer(undefined)
        } else {
          yield* sendAck
        }
        if (result.rejected.length > 0) {
          yield* send({ _tag: "WriteRejected", batch: msg.batch, reason: "permission denied", docs: result.rejected })
        }
      })

    // The Ack owed to the remote (see `LinkOptions.ackDelay`): the newest
    // batch received, and how many batches it covers. Delaying it costs the
    // sender nothing while its window has room (only one batch ever waits),
    // and under a stream of small writes one Ack covers several batches.
    let ackOwed: { batch: number; upToSeq?: number } | undefined
    let ackOwedCount = 0
    const ackDue = yield* Mailbox.make<void>({ capacity: 1, strategy: "sliding" })
    const sendAck = Effect.suspend(() => {
      const owed = ackOwed
      if (owed === undefined) return Effect.void
      ackOwed = undefined
      ackOwedCount = 0
      return send({ _tag: "Ack", ...owed })
    })
    const acker = Effect.orDie(ackDue.take).pipe(
      Effect.zipRight(Effect.sleep(ackDelay)),
      Effect.zipRight(sendAck),
      Effect.forever
    )

    const onAck = (msg: Protocol.Ack) =>
      Effect.gen(function*() {
        let changed = false
        let syncedChanged = false
        for (const [n, meta] of inflight) {
          if (n > msg.batch) continue
          inflight.delete(n)
          unacked--
          roomMade.unsafeOffer(undefined)
          if (meta.upToSeq !== undefined && meta.upToSeq > ackedSeq) {
            ackedSeq = meta.upToSeq
            changed = true
          }
          if (meta.scanDone !== undefined) {
            synced.add(meta.scanDone)
            syncedChanged = true
          }
          for (const key of meta.resent ?? []) awaitingResend.delete(key)
          if (frozenAt !== undefined && awaitingResend.size === 0) {
            frozenAt = undefined
            changed = true
          }
        }
        if (syncedChanged) yield* writeCursor
        else if (changed) yield* persistCursor
      })

    const onSummary = (msg: Protocol.Summary) =>
      Effect.gen(function*() {
        for (const d of msg.docs) {
          const key = docKey(d.collection, d.id)
          if (d.evicted === true) {
            remoteEvicted.add(key)
            known.delete(d.collection, d.id)
            continue
          }
          known.set(d.collection, d.id, d.vv)
          if (awaitingResend.size === 0) frozenAt = ackedSeq
          awaitingResend.add(key)
          resend.push({ collection: d.collection, id: d.id })
        }
        yield* poke
      })

    const receiver = Effect.gen(function*() {
      while (true) {
        const msg = yield* next
        if (Option.isNone(msg)) return
        const m = msg.value
        switch (m._tag) {
          case "Subscribe":
            yield* onSubscribe(m)
            break
          case "Deltas":
            yield* onDeltas(m)
            break
          case "Ack":
            yield* onAck(m)
            break
          case "Summary":
            yield* onSummary(m)
            break
          case "WriteRejected":
            yield* hooks.rejected(remoteSite, m)
            for (const d of m.docs) known.delete(d.collection, d.id)
            break
          case "Ping":
            yield* send({ _tag: "Pong", n: m.n })
            break
          case "Pong":
            break
          case "Goodbye":
            return
          case "Reject":
            return yield* Effect.fail(new LinkRejected({ remote: remoteName, reason: m.reason, byRemote: true }))
          case "Hello":
          case "Welcome":
            return yield* Effect.fail(fail(`out-of-order frame: ${m._tag} after the handshake`))
        }
      }
    })

    const expiresAt = permissions.expiresAt
    const expiry = expiresAt === undefined
      ? Effect.never
      : Effect.gen(function*() {
        const now = yield* Effect.clockWith((c) => c.currentTimeMillis)
        yield* Effect.sleep(Duration.millis(Math.max(0, expiresAt - now)))
        yield* send({ _tag: "Reject", reason: "token expired" }).pipe(Effect.ignore)
        return yield* Effect.fail(new LinkRejected({ remote: remoteName, reason: "token expired", byRemote: false }))
      })

    // The first loop to end (success or failure) ends the link. A send fails
    // once the remote has closed, and a remote that closes may have said why
    // just before (Reject "token expired"): the sending loops' failures wait
    // a moment, so that the receiver, reading on, reports that instead.
    const background = Effect.zipRight(Effect.all([sender, subscriber, acker], { concurrency: "unbounded" }), Effect.never).pipe(
      Effect.catchAll((failure) => Effect.zipRight(Effect.sleep(REASON_GRACE), Effect.fail(failure)))
    )
    yield* receiver.pipe(
      Effect.raceFirst(background),
      Effect.raceFirst(expiry),
      // An Ack still owed goes out before the close: the remote's cursor moves.
      Effect.ensuring(Effect.ignore(sendAck).pipe(Effect.zipRight(conn.close())))
    )
  })
