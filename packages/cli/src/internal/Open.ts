/**
 * Opening a replica file named on the command line without ever creating or
 * altering something that is not a Shoal replica: the path must exist, be a
 * regular file, start with the SQLite header and hold the replica tables
 * (checked on a read-only connection). Only then is it opened with
 * `ReplicaStore.make`, which runs the (idempotent) migrations.
 */
import { ReplicaStore } from "@shoal/store-sqlite"
import Database from "better-sqlite3"
import * as Effect from "effect/Effect"
import { closeSync, existsSync, openSync, readSync, rmSync, statSync } from "node:fs"
import { CliError, oneLine } from "../CliError.js"

const SQLITE_HEADER = "SQLite format 3\u0000"

const describe = (e: unknown): string => (e instanceof Error ? e.message : String(e))

const notReplica = (path: string) => `${path} is not a Shoal replica (not a SQLite database)`

/**
 * A read-only connection. Opening a WAL-mode file creates its -wal/-shm
 * companions; when they did not exist before and the file turns out to be
 * unusable, they are removed again (no other process can be using it).
 */
const withReadOnly = <A>(path: string, f: (db: Database.Database) => A): A => {
  const companions = [`${path}-wal`, `${path}-shm`].filter((p) => !existsSync(p))
  let ok = false
  try {
    const db = new Database(path, { readonly: true, fileMustExist: true })
    try {
      const result = f(db)
      ok = true
      return result
    } finally {
      db.close()
    }
  } finally {
    if (!ok) for (const p of companions) rmSync(p, { force: true })
  }
}

/** Checks that `path` is an existing Shoal replica file; never creates or writes it. */
export const checkReplicaFile = (path: string): Effect.Effect<void, CliError> =>
  Effect.try({
    try: (): string | undefined => {
      let size: number
      try {
        const st = statSync(path)
        if (st.isDirectory()) return `${path} is a directory, not a replica file`
        if (!st.isFile()) return `${path} is not a regular file`
        size = st.size
      } catch (e) {
        const code = e instanceof Error && "code" in e ? e.code : undefined
        return code === "ENOENT" ? `no such file: ${path}` : `cannot open ${path}: ${describe(e)}`
      }
      if (size < SQLITE_HEADER.length) return notReplica(path)
      const fd = openSync(path, "r")
      const head = Buffer.alloc(SQLITE_HEADER.length)
      try {
        readSync(fd, head, 0, head.length, 0)
      } finally {
        closeSync(fd)
      }
      if (head.toString("latin1") !== SQLITE_HEADER) return notReplica(path)
      return withReadOnly(path, (db) => {
        const tables = new Set(
          db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'").all().map((r) => r.name)
        )
        return tables.has("ops") && tables.has("docs")
          ? undefined
          : `${path} is a SQLite database but not a Shoal replica (no ops/docs tables)`
      })
    },
    catch: (e) => storeFailure(path)({ message: describe(e) })
  }).pipe(
    Effect.flatMap((problem) => problem === undefined ? Effect.void : Effect.fail(new CliError({ message: problem })))
  )

/** Why a file that passed `checkReplicaFile` still fails: SQLite's own integrity check, first line. */
const diagnose = (path: string): string | undefined => {
  try {
    return withReadOnly(path, (db) => {
      const rows = db.prepare<[], { quick_check: string }>("PRAGMA quick_check(1)").all()
      const first = rows[0]?.quick_check
      return first === undefined || first === "ok" ? undefined : first
    })
  } catch (e) {
    return describe(e)
  }
}

/**
 * Open an existing replica (scoped). Fails with a CliError when it is missing,
 * not a replica, or corrupt.
 */
export const openExisting = (path: string) =>
  Effect.zipRight(checkReplicaFile(path), ReplicaStore.make({ filename: path }).pipe(Effect.mapError(openFailure(path))))

/** A failure to open a file that looked like a replica: say it is corrupt when SQLite says so. */
export const openFailure = (path: string) => (e: { readonly message: string }): CliError => {
  const problem = diagnose(path)
  return new CliError({ message: problem === undefined ? oneLine(e.message) : `${path} is corrupt: ${oneLine(problem)}` })
}

/** Any store failure after opening: a corrupt page shows up here. */
export const storeFailure = (path: string) => (e: { readonly message: string }): CliError => {
  const text = oneLine(e.message)
  return /malformed|not a database|corrupt/i.test(text)
    ? new CliError({ message: `${path} is corrupt: ${text}` })
    : new CliError({ message: text })
}
