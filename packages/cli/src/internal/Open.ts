/**
 * Opening a replica file named on the command line without ever creating or
 * altering something that is not a Shoal replica: the path must exist, be a
 * regular file, start with the SQLite header and hold the replica tables.
 * Only then is it opened with `ReplicaStore.make` (which runs migrations).
 */
import { ReplicaStore } from "@shoal/store-sqlite"
import Database from "better-sqlite3"
import * as Effect from "effect/Effect"
import { closeSync, openSync, readSync, statSync } from "node:fs"
import { CliError, fromError } from "../CliError.js"

const SQLITE_HEADER = "SQLite format 3\u0000"

const describe = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/** Checks that `path` is an existing Shoal replica file; never creates or writes it. */
export const checkReplicaFile = (path: string): Effect.Effect<void, CliError> =>
  Effect.try({
    try: () => {
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
      if (size < SQLITE_HEADER.length) return `${path} is not a Shoal replica (not a SQLite database)`
      const fd = openSync(path, "r")
      const head = Buffer.alloc(SQLITE_HEADER.length)
      try {
        readSync(fd, head, 0, head.length, 0)
      } finally {
        closeSync(fd)
      }
      if (head.toString("latin1") !== SQLITE_HEADER) return `${path} is not a Shoal replica (not a SQLite database)`
      const db = new Database(path, { readonly: true, fileMustExist: true })
      try {
        const tables = new Set(
          db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'").all().map((r) => r.name)
        )
        if (!tables.has("ops") || !tables.has("docs")) {
          return `${path} is a SQLite database but not a Shoal replica (no ops/docs tables)`
        }
      } finally {
        db.close()
      }
      return undefined
    },
    catch: (e) => new CliError({ message: `cannot read ${path}: ${describe(e)}` })
  }).pipe(
    Effect.flatMap((problem) => problem === undefined ? Effect.void : Effect.fail(new CliError({ message: problem })))
  )

/** Open an existing replica (scoped). Fails with a CliError when it is missing or not a replica. */
export const openExisting = (path: string) =>
  Effect.zipRight(
    checkReplicaFile(path),
    ReplicaStore.make({ filename: path }).pipe(Effect.mapError(fromError(undefined)))
  )
