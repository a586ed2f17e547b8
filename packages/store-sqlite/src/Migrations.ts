/**
 * The replica schema, applied with SqliteMigrator (@effect/sql) when a file
 * is opened. Keys must match /^\d+_/ or the migrator skips them silently.
 */
import { SqlClient } from "@effect/sql"
import { SqliteMigrator } from "@effect/sql-sqlite-node"
import * as Effect from "effect/Effect"

const statements = (...sqls: ReadonlyArray<string>) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => Effect.forEach(sqls, (s) => sql.unsafe(s), { discard: true }))

export const migrations = SqliteMigrator.fromRecord({
  "1_replica": statements(
    // Append-only: one row per committed transaction. `collections` is a
    // comma-joined list for quick inspection; `payload` is the JSON of the changes.
    `CREATE TABLE ops (
      seq INTEGER PRIMARY KEY,
      txn_id TEXT NOT NULL,
      site_id TEXT NOT NULL,
      hlc TEXT NOT NULL,
      origin TEXT NOT NULL,
      from_site TEXT,
      collections TEXT NOT NULL,
      payload TEXT NOT NULL
    )`,
    // Materialized: CRDT state, its version vector and what readers see
    // (NULL when removed). Folding `ops` from seq 0 rebuilds it byte for byte.
    // A compact row (a document one write made whole) has no state or vv,
    // only its JSON and `stamp`; see DocFold. Compact rows are small, so the
    // table is keyed by (collection, id) itself (one B-tree, no extra index).
    `CREATE TABLE docs (
      collection TEXT NOT NULL,
      id TEXT NOT NULL,
      state TEXT,
      vv TEXT,
      visible_json TEXT,
      last_seq INTEGER NOT NULL,
      stamp TEXT,
      CHECK ((state IS NULL) = (stamp IS NOT NULL)),
      PRIMARY KEY (collection, id)
    ) WITHOUT ROWID`,
    // Per remote site: last local seq it acknowledged, and the subscription
    // queries whose initial sync it completed.
    `CREATE TABLE cursors (
      remote_site TEXT PRIMARY KEY,
      acked_seq INTEGER NOT NULL,
      synced_queries TEXT NOT NULL DEFAULT '[]'
    )`,
    `CREATE TABLE peers (
      site_id TEXT PRIMARY KEY,
      network_id INTEGER NOT NULL,
      device_name TEXT NOT NULL,
      last_seen TEXT NOT NULL
    )`,
    `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
    `CREATE TABLE indexes (name TEXT PRIMARY KEY, collection TEXT NOT NULL, path TEXT NOT NULL)`
  )
})
