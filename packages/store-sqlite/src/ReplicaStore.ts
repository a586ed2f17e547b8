/**
 * ReplicaStore: one SQLite file per app replica.
 *
 * Migrations run through @effect/sql's SqliteMigrator when the file is
 * opened; after that a single raw better-sqlite3 connection does all reads
 * and writes with prepared statements. better-sqlite3 is synchronous, so a
 * write transaction never interleaves with a read in this process and a
 * second connection would buy nothing; the hot paths stay within a few
 * percent of raw SQLite (see bench/RESULTS.md).
 *
 * The store knows nothing of actors: the Replica actor is its only writer
 * and the only code that assigns `seq`.
 */
import { NodeContext } from "@effect/platform-node"
import { SqliteClient, SqliteMigrator } from "@effect/sql-sqlite-node"
import { Hlc, Json, Op, Protocol, SiteId, Stamp } from "@shoal/core"
import Database from "better-sqlite3"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Mailbox from "effect/Mailbox"
import * as Schema from "effect/Schema"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { compact, type DocRecord, fold } from "./DocFold.js"
import { StoreError } from "./Errors.js"
import { migrations } from "./Migrations.js"
import * as OpPayload from "./OpPayload.js"

export interface StoreOptions {
  /** Path of the SQLite file, or "memory" for a throw-away replica (tests). */
  readonly filename: string | "memory"
  /** Site id to use when the file is new (random otherwise). */
  readonly siteId?: SiteId.SiteId
}

/** One op with the document rows it produced (computed with `fold`). */
export interface Commit {
  readonly op: Op.Op
  readonly docs: ReadonlyArray<DocRecord>
  readonly evicted: ReadonlyArray<{ readonly collection: string; readonly id: string }>
  /** The JSON already serialized for each change's document (aligned with `op.changes`; see `DocFold.putJson`). */
  readonly putJson?: ReadonlyArray<string | undefined>
}

export interface PushedWhere {
  readonly sql: string
  readonly params: ReadonlyArray<string | number | null>
}

export interface SelectOptions {
  readonly collection: string
  readonly where?: PushedWhere | undefined
  readonly orderBy?: string | undefined
  readonly limit?: number | undefined
  readonly offset?: number | undefined
}

export interface CursorRow {
  readonly ackedSeq: number
  readonly syncedQueries: ReadonlyArray<string>
}

// The op log is read on every sync and replay: decode it with the wire's
// hand-written validators for states and JSON (the generic recursive Schemas
// of Op.Op check the same shapes, several times slower).
const FastChange = Schema.Union(
  Schema.Struct({
    collection: Schema.String,
    id: Schema.String,
    delta: Protocol.DocState,
    vv: Schema.optionalWith(Protocol.VersionVector, { exact: true })
  }),
  Schema.Struct({ collection: Schema.String, id: Schema.String, put: Protocol.JsonObject, stamp: Stamp.Stamp }),
  Op.Eviction
)
const FastOp = Schema.Struct({ ...Op.Op.fields, changes: Schema.Array(FastChange) })
const decodeOp = Schema.decodeUnknownSync(FastOp)
// The same structural validator the wire uses: Schema-checked, but fast
// enough for every document read on the write and sync paths.
const decodeState = Schema.decodeUnknownSync(Schema.parseJson(Protocol.DocState))
const decodeVv = Schema.decodeUnknownSync(Schema.parseJson(Protocol.VersionVector))
const SyncedQueries = Schema.parseJson(Schema.Array(Schema.String))

interface DocRow {
  readonly collection: string
  readonly id: string
  readonly state: string | null
  readonly vv: string | null
  readonly visible_json: string | null
  readonly last_seq: number
  readonly stamp: string | null
}

/**
 * A docs row as read by the hot statements: better-sqlite3's raw mode
 * returns arrays, ~40% cheaper per row than objects keyed by column name
 * (initial-sync scans read every document).
 */
type RawDocRow = readonly [
  collection: string,
  id: string,
  state: string | null,
  vv: string | null,
  visibleJson: string | null,
  lastSeq: number,
  stamp: string | null
]

interface OpRow {
  readonly seq: number
  readonly txn_id: string
  readonly site_id: string
  readonly hlc: string
  readonly origin: string
  readonly from_site: string | null
  readonly payload: string
}

const attempt = <A>(operation: string, f: () => A) =>
  Effect.try({
    try: f,
    catch: (e) => new StoreError({ operation, detail: e instanceof Error ? e.message : String(e) })
  })

// Rows are read on every query and sync. JSON.parse can only produce JSON
// values, so a visible document needs just the object check; a stamp just its
// pattern. (States go through the full structural validator: they are merged.)
const STAMP = /^[0-9a-f]{32}$/
/** Longest a cursor given to `setCursorSoon` waits to be written. */
export const CURSOR_WRITE_DELAY = Duration.millis(100)
/** WAL pages between automatic checkpoints (SQLite's default is 1,000). */
export const WAL_AUTOCHECKPOINT_PAGES = 10_000
/** New document rows per multi-row INSERT. */
const ROWS_PER_INSERT = 64
/** Records kept of the latest small commits (see `recentlyWritten`). */
const RECENT_DOCS = 512
/** Commits writing more documents than this clear that cache instead. */
const RECENT_DOCS_PER_COMMIT = 64
const decodeStamp = (text: string): Stamp.Stamp => {
  if (!STAMP.test(text)) throw new Error(`bad stamp in a docs row: ${text.slice(0, 40)}`)
  return Stamp.Stamp.make(text, { disableValidation: true })
}
const decodeVisible = (text: string): Json.JsonObject => {
  const value: Json.Json = JSON.parse(text)
  if (!Json.isObject(value)) throw new Error("a docs row's visible_json is not an object")
  return value
}

const rowToRecord = (row: RawDocRow): DocRecord => {
  const [collection, id, state, vv, visibleJson, lastSeq, stamp] = row
  if (stamp !== null && visibleJson !== null) {
    return compact(collection, id, decodeVisible(visibleJson), visibleJson, decodeStamp(stamp), lastSeq)
  }
  if (state === null || vv === null) {
    throw new Error(`document ${collection}/${id}: row has neither a state nor a stamp`)
  }
  return {
    collection,
    id,
    state: decodeState(state),
    stateJson: state,
    stamp: null,
    vv: decodeVv(vv),
    vvJson: vv,
    visibleJson,
    visible: visibleJson === null ? undefined : decodeVisible(visibleJson),
    lastSeq,
    created: false
  }
}

const rowToOp = (row: OpRow): Op.Op =>
  decodeOp({
    seq: row.seq,
    txnId: row.txn_id,
    siteId: row.site_id,
    hlc: row.hlc,
    origin: row.origin,
    ...(row.from_site === null ? {} : { from: row.from_site }),
    changes: OpPayload.decode(row.payload)
  })

const migrate = (filename: string) =>
  Effect.scoped(
    Layer.build(
      SqliteMigrator.layer({ loader: migrations }).pipe(
        Layer.provide(NodeContext.layer),
        Layer.provide(SqliteClient.layer({ filename }))
      )
    )
  ).pipe(
    Effect.mapError((e) => new StoreError({ operation: `migrate ${filename}`, detail: String(e) })),
    // A failed migration is a defect in @effect/sql; surface it as a typed error.
    Effect.catchAllDefect((d) => Effect.fail(new StoreError({ operation: `migrate ${filename}`, detail: String(d) })))
  )

const open = (options: StoreOptions) =>
  Effect.gen(function*() {
    let filename = options.filename
    if (filename === "memory") {
      const dir = mkdtempSync(join(tmpdir(), "shoal-mem-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
      filename = join(dir, "replica.db")
    }
    // Refuse garbage before the migrator writes into it.
    yield* attempt(`open ${filename}`, () => {
      const probe = new Database(filename, { fileMustExist: false })
      try {
        probe.prepare("SELECT count(*) FROM sqlite_master").get()
      } finally {
        probe.close()
      }
    })
    yield* migrate(filename)
    const db = yield* Effect.acquireRelease(
      attempt(`open ${filename}`, () => {
        const db = new Database(filename)
        db.pragma("journal_mode = WAL")
        db.pragma("synchronous = NORMAL")
        db.pragma("busy_timeout = 5000")
        // A checkpoint (copying the WAL into the file, with an fsync each
        // side) every 10,000 pages instead of SQLite's 1,000: a replica writes
        // each document twice (its row and its op), and with the default an
        // initial sync spent about a third of its commit time checkpointing.
        // The WAL file is cut back to 64 MiB after a checkpoint.
        db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`)
        db.pragma(`journal_size_limit = ${64 * 1024 * 1024}`)
        return db
      }),
      (db) => Effect.sync(() => db.close())
    )
    return { db, filename }
  })

const makeStore = (options: StoreOptions) =>
  Effect.gen(function*() {
    const { db, filename } = yield* open(options)

    const getMeta = db.prepare<[string], { value: string }>("SELECT value FROM meta WHERE key = ?")
    const setMeta = db.prepare<[string, string]>(
      "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"
    )
    const existingSite = getMeta.get("site_id")?.value
    const siteId = existingSite !== undefined
      ? SiteId.unsafeFromString(existingSite)
      : options.siteId ?? (yield* SiteId.make)
    if (existingSite === undefined) setMeta.run("site_id", siteId)
    // The clock resumes after the newest op: each op's hlc is the clock as
    // that transaction left it, so no extra write per commit is needed.
    const lastHlc = Hlc.Hlc.make(
      db.prepare<[], { hlc: string }>("SELECT hlc FROM ops ORDER BY seq DESC LIMIT 1").get()?.hlc ?? Hlc.zero
    )

    const getDoc = db.prepare<[string, string], RawDocRow>(
      "SELECT collection, id, state, vv, visible_json, last_seq, stamp FROM docs WHERE collection = ? AND id = ?"
    ).raw(true)
    const getVisible = db.prepare<[string, string], { visible_json: string | null }>(
      "SELECT visible_json FROM docs WHERE collection = ? AND id = ?"
    )
    const upsertDoc = db.prepare<[string, string, string | null, string | null, string | null, number, string | null]>(
      `INSERT INTO docs (collection, id, state, vv, visible_json, last_seq, stamp) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (collection, id) DO UPDATE SET state = excluded.state, vv = excluded.vv,
         visible_json = excluded.visible_json, last_seq = excluded.last_seq, stamp = excluded.stamp`
    )
    const deleteDoc = db.prepare<[string, string]>("DELETE FROM docs WHERE collection = ? AND id = ?")
    const insertOp = db.prepare<[number, string, string, string, string, string | null, string, string]>(
      "INSERT INTO ops (seq, txn_id, site_id, hlc, origin, from_site, collections, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    )
    const maxSeq = db.prepare<[], { seq: number | null }>("SELECT max(seq) AS seq FROM ops")
    const opsAfter = db.prepare<[number, number], OpRow>(
      "SELECT seq, txn_id, site_id, hlc, origin, from_site, payload FROM ops WHERE seq > ? ORDER BY seq LIMIT ?"
    )
    // For a link: the ops after its cursor except those merged from that very
    // remote (it has them: it sent them), which are not even decoded.
    const opsAfterNotFrom = db.prepare<[number, string, number], OpRow>(
      `SELECT seq, txn_id, site_id, hlc, origin, from_site, payload FROM ops
       WHERE seq > ? AND (from_site IS NULL OR from_site != ?) ORDER BY seq LIMIT ?`
    )
    const getCursor = db.prepare<[string], { acked_seq: number; synced_queries: string }>(
      "SELECT acked_seq, synced_queries FROM cursors WHERE remote_site = ?"
    )
    const setCursor = db.prepare<[string, number, string]>(
      `INSERT INTO cursors (remote_site, acked_seq, synced_queries) VALUES (?, ?, ?)
       ON CONFLICT (remote_site) DO UPDATE SET acked_seq = excluded.acked_seq, synced_queries = excluded.synced_queries`
    )

    let lastSeq = maxSeq.get()?.seq ?? 0

    // Cursors of links written a little later, all of this replica's links in
    // one transaction: a write per link per Ack was a good part of a mesh
    // hop's cost (each peer has a few links, each moving its cursor once per
    // propagated write). A cursor that lags only makes a later link resend.
    const dirtyCursors = new Map<string, CursorRow>()
    const writeCursor = (remote: string, cursor: CursorRow) =>
      setCursor.run(remote, cursor.ackedSeq, JSON.stringify(cursor.syncedQueries))
    const writeCursorRows = db.transaction((rows: ReadonlyArray<readonly [string, CursorRow]>) => {
      for (const [remote, cursor] of rows) writeCursor(remote, cursor)
    })
    const flushCursors = () => {
      if (dirtyCursors.size === 0) return
      const rows = [...dirtyCursors]
      dirtyCursors.clear()
      try {
        writeCursorRows(rows)
      } catch (e) {
        // Kept for the next flush unless a newer cursor came meanwhile.
        for (const [remote, cursor] of rows) if (!dirtyCursors.has(remote)) dirtyCursors.set(remote, cursor)
        throw e
      }
    }
    const cursorsDirty = yield* Mailbox.make<void>({ capacity: 1, strategy: "sliding" })
    const setCursorSoonNow = (remoteSite: string, cursor: CursorRow): void => {
      dirtyCursors.set(remoteSite, cursor)
      cursorsDirty.unsafeOffer(undefined)
    }
    yield* Effect.orDie(cursorsDirty.take).pipe(
      Effect.zipRight(Effect.sleep(CURSOR_WRITE_DELAY)),
      Effect.zipRight(attempt("write cursors", flushCursors)),
      Effect.catchAll((e) => Effect.logWarning("writing link cursors failed; retried with the next change", e)),
      Effect.forever,
      Effect.forkScoped
    )
    yield* Effect.addFinalizer(() => Effect.ignore(attempt("write cursors", flushCursors)))

    // Every document key in the file, so that a lookup of a document that does
    // not exist (each INSERT of a new id) costs no SQLite read. ~100 bytes per
    // document; the Replica actor is the only writer. A key may be in the
    // index without a row (claimed by a write that then failed: `claimKey`),
    // never the reverse: a key that is not in it has no row.
    const keys = new Map<string, Set<string>>()
    const hasKey = (collection: string, id: string) => keys.get(collection)?.has(id) === true
    /** Whether the key is new. */
    const addKey = (collection: string, id: string): boolean => {
      let ids = keys.get(collection)
      if (ids === undefined) keys.set(collection, (ids = new Set()))
      const before = ids.size
      ids.add(id)
      return ids.size > before
    }
    for (const row of db.prepare<[], { collection: string; id: string }>("SELECT collection, id FROM docs").iterate()) {
      addKey(row.collection, row.id)
    }

    const insertDoc = db.prepare<[string, string, string | null, string | null, string | null, number, string | null]>(
      "INSERT INTO docs (collection, id, state, vv, visible_json, last_seq, stamp) VALUES (?, ?, ?, ?, ?, ?, ?)"
    )
    // New rows go in ROWS_PER_INSERT at a time through one multi-row INSERT
    // of bound values: about 35% cheaper per row than an INSERT each, and
    // than handing SQLite a JSON array to walk (bulk writes and initial syncs
    // are mostly this). The texts are stored exactly as given.
    const insertRows = db.prepare<[ReadonlyArray<string | number | null>]>(
      `INSERT INTO docs (collection, id, state, vv, visible_json, last_seq, stamp) VALUES ${
        Array.from({ length: ROWS_PER_INSERT }, () => "(?, ?, ?, ?, ?, ?, ?)").join(", ")
      }`
    )
    const rowValues: Array<string | number | null> = new Array(7 * ROWS_PER_INSERT).fill(null)
    const queuedRows: Array<DocRecord> = []
    const queueRow = (d: DocRecord) => {
      queuedRows.push(d)
      if (queuedRows.length < ROWS_PER_INSERT) return
      for (let i = 0; i < ROWS_PER_INSERT; i++) {
        const r = queuedRows[i]!
        const o = 7 * i
        rowValues[o] = r.collection
        rowValues[o + 1] = r.id
        rowValues[o + 2] = r.stateJson
        rowValues[o + 3] = r.vvJson
        rowValues[o + 4] = r.visibleJson
        rowValues[o + 5] = r.lastSeq
        rowValues[o + 6] = r.stamp
      }
      insertRows.run(rowValues)
      queuedRows.length = 0
    }
    const flushRows = () => {
      for (const r of queuedRows) insertDoc.run(r.collection, r.id, r.stateJson, r.vvJson, r.visibleJson, r.lastSeq, r.stamp)
      queuedRows.length = 0
    }
    // Keys added by the transaction being written (collection, id, collection,
    // id, …: no pair per document), undone if it rolls back.
    const added: Array<string> = []
    const writeCommits = db.transaction((commits: ReadonlyArray<Commit>) => {
      for (const { docs, evicted, op, putJson } of commits) {
        const collections = new Set<string>()
        let last = ""
        for (const c of op.changes) {
          if (c.collection === last) continue
          last = c.collection
          collections.add(last)
        }
        insertOp.run(op.seq, op.txnId, op.siteId, op.hlc, op.origin, op.from ?? null, [...collections].join(","), OpPayload.encode(op.changes, putJson))
        for (const d of docs) {
          // A new key is a plain INSERT (no key in the index means no row),
          // cheaper than an upsert. (A created row's key was claimed already;
          // a rollback releases it with the other created rows.)
          if (!d.created) {
            if (!addKey(d.collection, d.id)) {
              upsertDoc.run(d.collection, d.id, d.stateJson, d.vvJson, d.visibleJson, d.lastSeq, d.stamp)
              continue
            }
            added.push(d.collection, d.id)
          }
          queueRow(d)
        }
        // Before anything else touches these rows (a later commit's upsert).
        flushRows()
        for (const e of evicted) {
          deleteDoc.run(e.collection, e.id)
          keys.get(e.collection)?.delete(e.id)
        }
      }
    })

    const selectCache = new Map<string, Database.Statement<Array<string | number | null>, { visible_json: string }>>()
    const prepared = (text: string) => {
      let stmt = selectCache.get(text)
      if (stmt === undefined) {
        stmt = db.prepare<Array<string | number | null>, { visible_json: string }>(text)
        if (selectCache.size > 256) selectCache.clear()
        selectCache.set(text, stmt)
      }
      return stmt
    }
    const selectSql = (o: SelectOptions) =>
      `SELECT visible_json FROM docs WHERE collection = ? AND visible_json IS NOT NULL` +
      (o.where === undefined ? "" : ` AND (${o.where.sql})`) +
      (o.orderBy === undefined ? "" : ` ORDER BY ${o.orderBy}`) +
      (o.limit === undefined && o.offset === undefined ? "" : ` LIMIT ${o.limit ?? -1}`) +
      (o.offset === undefined ? "" : ` OFFSET ${o.offset}`)

    const scanDocsStmt = db.prepare<[string, string, number], RawDocRow>(
      `SELECT collection, id, state, vv, visible_json, last_seq, stamp FROM docs
       WHERE collection = ? AND id > ? ORDER BY id LIMIT ?`
    ).raw(true)

    // A row-value comparison alone, so SQLite walks the primary key (an OR
    // here turned every page into a full table scan).
    const scanAllStmt = db.prepare<[string, string, number], RawDocRow>(
      `SELECT collection, id, state, vv, visible_json, last_seq, stamp FROM docs
       WHERE (collection, id) > (?, ?) ORDER BY collection, id LIMIT ?`
    ).raw(true)

    // The records of the last documents small commits wrote, so that what a
    // commit just wrote is not read back: a link forwarding that commit to
    // its remotes, and the same document arriving again from another remote
    // (every hop of a mesh does both). Exact because this store is the only
    // writer: entries are added only once their transaction committed, and
    // replaced by every later write; a large commit (bulk write, initial
    // sync) clears the cache instead of paying per row.
    const recentlyWritten = new Map<string, DocRecord>()
    const recentKey = (collection: string, id: string) => `${collection}\u0000${id}`
    const rememberWritten = (commits: ReadonlyArray<Commit>) => {
      for (const { docs, evicted } of commits) {
        if (docs.length > RECENT_DOCS_PER_COMMIT) {
          recentlyWritten.clear()
          continue
        }
        for (const d of docs) {
          const key = recentKey(d.collection, d.id)
          recentlyWritten.delete(key) // re-inserted last: the map's order is the age
          recentlyWritten.set(key, d)
        }
        for (const e of evicted) recentlyWritten.delete(recentKey(e.collection, e.id))
      }
      while (recentlyWritten.size > RECENT_DOCS) {
        recentlyWritten.delete(recentlyWritten.keys().next().value ?? "")
      }
    }

    /** Append ops and write their rows in one transaction; throws (rolled back) on failure. */
    const commitOrThrow = (commits: ReadonlyArray<Commit>): void => {
      added.length = 0
      queuedRows.length = 0
      try {
        writeCommits(commits)
      } catch (e) {
        // Rolled back: the key index goes back to the file's keys (the
        // keys claimed for created rows included, written or not).
        for (let i = 0; i < added.length; i += 2) keys.get(added[i]!)?.delete(added[i + 1]!)
        for (const { docs } of commits) for (const d of docs) if (d.created) keys.get(d.collection)?.delete(d.id)
        for (const { evicted } of commits) {
          for (const x of evicted) if (getVisible.get(x.collection, x.id) !== undefined) addKey(x.collection, x.id)
        }
        throw e
      }
      rememberWritten(commits)
      const top = commits[commits.length - 1]
      if (top !== undefined) lastSeq = top.op.seq
    }

    /**
     * For the writer about to write a document: if the key is not in the
     * file, claim it (add it to the key index now) and answer true; the
     * record it then commits is `created`. One hash-set operation per new
     * document instead of a lookup now and another at commit (both showed in
     * initial-sync profiles). A claim whose write never commits leaves a key
     * without a row, which only costs a read that finds nothing.
     */
    const claimKey: (collection: string, id: string) => boolean = addKey

    /** One document, or undefined; throws `StoreError` (hot loops call it directly). */
    const lookupDoc = (collection: string, id: string): DocRecord | undefined => {
      if (!hasKey(collection, id)) return undefined
      if (recentlyWritten.size > 0) {
        const hit = recentlyWritten.get(recentKey(collection, id))
        if (hit !== undefined) return hit
      }
      try {
        const row = getDoc.get(collection, id)
        return row === undefined ? undefined : rowToRecord(row)
      } catch (e) {
        throw new StoreError({ operation: "read document", detail: e instanceof Error ? e.message : String(e) })
      }
    }

    return {
      filename,
      siteId,
      /** Highest HLC this replica had issued or seen when it was last committed. */
      lastHlc,
      /** Highest committed seq (0 when empty). Only the Replica actor advances it. */
      lastSeq: () => lastSeq,

      getDoc: (collection: string, id: string): Effect.Effect<DocRecord | undefined, StoreError> =>
        Effect.try({
          try: () => lookupDoc(collection, id),
          catch: (e) => (e instanceof StoreError ? e : new StoreError({ operation: "read document", detail: String(e) }))
        }),

      /** `getDoc` for hot loops: plain function, throws on an SQLite failure. */
      lookupDoc,

      claimKey,

      /** The JSON text readers see for one document (fast path for point reads). */
      getVisibleJson: (collection: string, id: string): string | undefined =>
        hasKey(collection, id) ? getVisible.get(collection, id)?.visible_json ?? undefined : undefined,

      /** Append ops and write their document rows in one transaction. */
      commit: (commits: ReadonlyArray<Commit>) => attempt("commit", () => commitOrThrow(commits)),

      /** `commit` as plain code (the writer's hot path): the failure, or undefined. */
      commitNow: (commits: ReadonlyArray<Commit>): StoreError | undefined => {
        try {
          commitOrThrow(commits)
          return undefined
        } catch (e) {
          return new StoreError({ operation: "commit", detail: e instanceof Error ? e.message : String(e) })
        }
      },

      /** Visible documents of a collection, filtered/sorted by SQLite where the caller could push it. */
      selectVisible: (o: SelectOptions) =>
        attempt("select", () => prepared(selectSql(o)).all(o.collection, ...(o.where?.params ?? [])).map((r) => r.visible_json)),

      explain: (o: SelectOptions) =>
        attempt("explain", () =>
          db.prepare<Array<string | number | null>, { detail: string }>(`EXPLAIN QUERY PLAN ${selectSql(o)}`)
            .all(o.collection, ...(o.where?.params ?? [])).map((r) => r.detail)),

      /** Documents of a collection in id order after `afterId` (initial sync scans). */
      scanDocs: (collection: string, afterId: string, limit: number) =>
        attempt("scan documents", () => scanDocsStmt.all(collection, afterId, limit).map(rowToRecord)),

      /** Documents of every collection in (collection, id) order after the given key. */
      scanAllDocs: (afterCollection: string, afterId: string, limit: number) =>
        attempt("scan documents", () => scanAllStmt.all(afterCollection, afterId, limit).map(rowToRecord)),

      /** Ops with seq > `afterSeq`, oldest first. */
      readOps: (afterSeq: number, limit: number) =>
        attempt("read ops", () => opsAfter.all(afterSeq, limit).map(rowToOp)),

      /** Ops after `afterSeq` that were not merged from `remote`. */
      readOpsNotFrom: (afterSeq: number, remote: string, limit: number) =>
        attempt("read ops", () => opsAfterNotFrom.all(afterSeq, remote, limit).map(rowToOp)),

      /** Raw op rows (for tools that must not fail on one bad row). */
      readOpRows: (afterSeq: number, limit: number) => attempt("read ops", () => opsAfter.all(afterSeq, limit)),

      getCursor: (remoteSite: string) =>
        attempt("read cursor", (): CursorRow => {
          const pending = dirtyCursors.get(remoteSite)
          if (pending !== undefined) return pending
          const row = getCursor.get(remoteSite)
          return row === undefined
            ? { ackedSeq: 0, syncedQueries: [] }
            : { ackedSeq: row.acked_seq, syncedQueries: Schema.decodeUnknownSync(SyncedQueries)(row.synced_queries) }
        }),

      /** Write a link's cursor now (a pending `setCursorSoon` of that remote is superseded). */
      setCursor: (remoteSite: string, cursor: CursorRow) =>
        attempt("write cursor", () => {
          dirtyCursors.delete(remoteSite)
          writeCursor(remoteSite, cursor)
        }),

      /**
       * Write a link's cursor within `CURSOR_WRITE_DELAY`, together with the
       * other cursors that changed meanwhile (and when the store closes).
       * `getCursor` sees it at once.
       */
      setCursorSoon: (remoteSite: string, cursor: CursorRow): Effect.Effect<void> =>
        Effect.sync(() => setCursorSoonNow(remoteSite, cursor)),

      /** `setCursorSoon` as plain code (for commit watchers, which run inside the writer). */
      setCursorSoonNow,

      getMeta: (key: string) => attempt("read meta", () => getMeta.get(key)?.value),
      setMeta: (key: string, value: string) => attempt("write meta", () => void setMeta.run(key, value)),

      /** An expression index on a JSON path of one collection's visible documents. */
      createIndex: (name: string, collection: string, expression: string) =>
        attempt("create index", () => {
          const safe = name.replace(/[^A-Za-z0-9_]/g, "_")
          db.exec(
            `CREATE INDEX IF NOT EXISTS "idx_${safe}" ON docs (collection, ${expression}) WHERE visible_json IS NOT NULL`
          )
          // Without statistics SQLite prefers the (collection, id) primary key
          // over any expression index; ANALYZE gives the planner the numbers.
          db.exec("ANALYZE")
          db.prepare("INSERT OR REPLACE INTO indexes (name, collection, path) VALUES (?, ?, ?)").run(
            name,
            collection,
            expression
          )
        }),

      dropIndex: (name: string, ifExists: boolean) =>
        attempt("drop index", () => {
          const known = db.prepare<[string], { name: string }>("SELECT name FROM indexes WHERE name = ?").get(name)
          if (known === undefined) {
            if (ifExists) return
            throw new Error(`no index named ${name}`)
          }
          db.exec(`DROP INDEX IF EXISTS "idx_${name.replace(/[^A-Za-z0-9_]/g, "_")}"`)
          db.prepare("DELETE FROM indexes WHERE name = ?").run(name)
        }),

      listIndexes: attempt(
        "list indexes",
        () => db.prepare<[], { name: string; collection: string; path: string }>("SELECT name, collection, path FROM indexes").all()
      ),

      countCollection: (collection: string) =>
        attempt("count", () =>
          db.prepare<[string], { n: number }>(
            "SELECT count(*) AS n FROM docs WHERE collection = ? AND visible_json IS NOT NULL"
          ).get(collection)?.n ?? 0),

      /**
       * Documents of `collection` (all collections when absent) in the key
       * index, removed ones included: an upper bound of `countCollection`
       * without reading the file (a count reads every row, ~10 ms per 100k).
       */
      keyCount: (collection?: string): number => {
        if (collection !== undefined) return keys.get(collection)?.size ?? 0
        let n = 0
        for (const ids of keys.values()) n += ids.size
        return n
      },

      /** Count of visible documents (all collections). */
      countVisible: attempt(
        "count",
        () => db.prepare<[], { n: number }>("SELECT count(*) AS n FROM docs WHERE visible_json IS NOT NULL").get()?.n ?? 0
      ),

      /** Every docs row in key order: the replay test compares these byte for byte. */
      dumpDocs: attempt(
        "dump documents",
        () => db.prepare<[], DocRow>("SELECT collection, id, state, vv, visible_json, last_seq, stamp FROM docs ORDER BY collection, id").all()
      )
    }
  })

export type ReplicaStoreShape = Effect.Effect.Success<ReturnType<typeof makeStore>>

export class ReplicaStore extends Context.Tag("@shoal/store-sqlite/ReplicaStore")<ReplicaStore, ReplicaStoreShape>() {
  static readonly make = makeStore
  static readonly layer = (options: StoreOptions) => Layer.scoped(ReplicaStore, makeStore(options))
}

/**
 * Fold ops into the store's `docs` table as the live path would: used by
 * replay. Ops are appended unchanged (same seq, txn, site, hlc).
 */
export const applyOps = (store: ReplicaStoreShape, ops: ReadonlyArray<Op.Op>) =>
  Effect.gen(function*() {
    const commits: Array<Commit> = []
    // null: evicted earlier in this call (a later write starts from nothing).
    const pending = new Map<string, DocRecord | null>()
    for (const op of ops) {
      const docs: Array<DocRecord> = []
      const evicted: Array<{ collection: string; id: string }> = []
      const touched = new Set(op.changes.map((c) => `${c.collection}\u0000${c.id}`))
      for (const change of op.changes) {
        const key = `${change.collection}\u0000${change.id}`
        if (Op.isEviction(change)) {
          pending.set(key, null)
          continue
        }
        const cached = pending.get(key)
        const existing = cached === null ? undefined : cached ?? (yield* store.getDoc(change.collection, change.id))
        pending.set(key, fold(existing, change, op.seq))
      }
      // Like the live path: one row per document from its final state in this op.
      for (const change of op.changes) {
        const key = `${change.collection}\u0000${change.id}`
        if (!touched.has(key)) continue
        touched.delete(key)
        const record = pending.get(key)
        if (record === null) evicted.push({ collection: change.collection, id: change.id })
        else if (record !== undefined) docs.push(record)
      }
      commits.push({ op, docs, evicted })
    }
    yield* store.commit(commits)
  })

