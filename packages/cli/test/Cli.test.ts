/**
 * The real `shoal` binary (`node packages/cli/bin/shoal.js …`) against real
 * replica files written by a Small Peer in a temporary directory.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Op } from "@shoal/core"
import { SmallPeer, replicaPath } from "@shoal/peer"
import { ReplicaStore } from "@shoal/store-sqlite"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { execFile } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const bin = join(dirname(fileURLToPath(import.meta.url)), "..", "bin", "shoal.js")

interface Run {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

const shoal = (...args: ReadonlyArray<string>) =>
  Effect.async<Run>((resume) => {
    execFile(process.execPath, [bin, ...args], { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1
      resume(Effect.succeed({ code, stdout, stderr }))
    })
  })

/** Exit 1, nothing on stdout, exactly one line `shoal: …` on stderr, no stack trace. */
const expectOneLineError = (run: Run, pattern: RegExp) => {
  expect(run.code).toBe(1)
  expect(run.stdout).toBe("")
  const lines = run.stderr.split("\n").filter((l) => l !== "")
  expect(lines).toHaveLength(1)
  expect(lines[0]).toMatch(/^shoal: /)
  expect(lines[0]).toMatch(pattern)
  expect(run.stderr).not.toMatch(/\n\s+at /)
}

type Dump = Effect.Effect.Success<ReplicaStore["Type"]["dumpDocs"]>

const dumpOf = (filename: string) =>
  Effect.scoped(Effect.flatMap(ReplicaStore.make({ filename }), (s) => s.dumpDocs))

let dir = ""
let db = ""
/** docs tables of the source as it was right after these seqs. */
const snapshots = new Map<number, Dump>()
let boundary = { iso: "", seq: 0 }
let finalDump: Dump = []
let lastSeq = 0

/**
 * Phase A: a few dozen mixed writes, one op each, snapshots after some of
 * them. Then a pause and a recorded time. Phase B (after the time): 2,500
 * more ops written by concurrent callers, so a replay crosses several chunks.
 */
const buildSource = Effect.gen(function*() {
  const peer = yield* SmallPeer
  const store = yield* ReplicaStore
  const snap = (seq: number) => Effect.map(store.dumpDocs, (d) => void snapshots.set(seq, d))
  for (let i = 0; i < 30; i++) {
    const id = `car${i % 7}`
    const r = i % 6 === 5
      ? yield* peer.execute("UPDATE cars APPLY hits PN_INCREMENT BY 2 WHERE _id = :id", { id })
      : i % 6 === 4
      ? yield* peer.execute("DELETE FROM cars WHERE _id = :id", { id: `car${(i + 2) % 7}` })
      : i % 6 === 3
      ? yield* peer.execute("EVICT FROM cars WHERE _id = :id", { id: `car${(i + 4) % 7}` })
      : yield* peer.execute("INSERT INTO cars DOCUMENTS (:d) ON ID CONFLICT DO UPDATE", {
        d: { _id: id, make: i % 2 === 0 ? "Volvo" : "Saab", year: 1990 + i, tags: ["t", i] }
      })
    if (r.transactionId === 7 || r.transactionId === 20) yield* snap(r.transactionId)
  }
  yield* peer.execute("INSERT INTO people DOCUMENTS (:a), (:b)", {
    a: { _id: "ada", name: "Ada", age: 36 },
    b: { _id: { org: "x", n: 1 }, name: "Bob", age: 41 }
  })
  yield* Effect.sleep("40 millis")
  boundary = { iso: new Date().toISOString(), seq: store.lastSeq() }
  yield* snap(boundary.seq)
  yield* Effect.sleep("40 millis")
  yield* Effect.forEach(
    Array.from({ length: 2500 }, (_, i) => i),
    (i) =>
      i % 10 === 9
        ? peer.execute("UPDATE bulk SET n = n + 1 WHERE _id = :id", { id: `b${i - 5}` })
        : peer.execute("INSERT INTO bulk DOCUMENTS (:d)", { d: { _id: `b${i}`, n: i, s: "x".repeat(i % 17) } }),
    { concurrency: 16, discard: true }
  )
  yield* peer.execute("EVICT FROM bulk WHERE n < 100")
  lastSeq = store.lastSeq()
  finalDump = yield* store.dumpDocs
})

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "shoal-cli-test-"))
  db = replicaPath(join(dir, "peer"), "cli")
  await Effect.runPromise(
    Effect.scoped(Effect.provide(buildSource, SmallPeer.layer({ appId: "cli", persistenceDir: join(dir, "peer") })))
  )
}, 120_000)

afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

describe("shoal oplog inspect", () => {
  it.live("shows the ops as a table", () =>
    Effect.gen(function*() {
      const all = yield* shoal("oplog", "inspect", db, "--limit", "40")
      expect(all.code).toBe(0)
      const lines = all.stdout.trimEnd().split("\n")
      expect(lines[0]).toMatch(/^seq\s+txn\s+site\s+time\s+origin\s+collections\s+changes$/)
      expect(lines).toHaveLength(2 + 40)
      const first = lines[2]!.trim().split(/\s+/)
      expect(first[0]).toBe("1")
      expect(first[1]).toMatch(/^[0-9a-f]{16}:1$/)
      expect(first[3]).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/)
      expect(first.slice(4)).toEqual(["local", "cars", "1"])
      const people = lines.find((l) => / people /.test(l))
      expect(people?.trim().split(/\s+/).at(-1)).toBe("2") // two changes in one op
      expect(all.stderr).toMatch(/^seq 1–40 of \d+; more with --from 41\n$/)

      const page = yield* shoal("oplog", "inspect", "--from", "3", "--limit", "5", db)
      expect(page.stdout.trimEnd().split("\n").slice(2).map((l) => l.trim().split(/\s+/)[0])).toEqual([
        "3",
        "4",
        "5",
        "6",
        "7"
      ])
    }))
})

describe("shoal oplog export", () => {
  it.live("writes every op as NDJSON that decodes with the Op schema", () =>
    Effect.gen(function*() {
      const run = yield* shoal("oplog", "export", db, "--format", "ndjson")
      expect(run.code).toBe(0)
      const lines = run.stdout.trimEnd().split("\n")
      expect(lines).toHaveLength(lastSeq)
      const ops = lines.map((l) => Schema.decodeUnknownSync(Op.Op)(JSON.parse(l)))
      expect(ops.map((o) => o.seq)).toEqual(Array.from({ length: lastSeq }, (_, i) => i + 1))
      const stored = yield* Effect.scoped(Effect.flatMap(ReplicaStore.make({ filename: db }), (s) => s.readOps(0, 100_000)))
      expect(ops).toEqual(stored)
      expect(ops.some((o) => o.changes.some((c) => "evict" in c))).toBe(true)
    }))

  it.live("--out writes a file, and refuses to overwrite it without --force", () =>
    Effect.gen(function*() {
      const out = join(dir, "ops.ndjson")
      const first = yield* shoal("oplog", "export", db, "--out", out)
      expect(first.code).toBe(0)
      expect(first.stdout).toBe("")
      expect(readFileSync(out, "utf8").trimEnd().split("\n")).toHaveLength(lastSeq)
      expectOneLineError(yield* shoal("oplog", "export", db, "--out", out), /already exists.*--force/)
      expect((yield* shoal("oplog", "export", db, "--out", out, "--force")).code).toBe(0)
      expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([])
    }))
})

describe("shoal oplog replay", () => {
  it.live("--until <seq> gives the replica as it was at that seq", () =>
    Effect.gen(function*() {
      for (const seq of [7, 20]) {
        const out = join(dir, `at-${seq}.sqlite`)
        const run = yield* shoal("oplog", "replay", db, "--until", String(seq), "--out", out)
        expect(run.code).toBe(0)
        expect(run.stderr).toMatch(new RegExp(`^replay: ${seq} ops \\(seq 1–${seq}\\)`))
        expect(JSON.stringify(yield* dumpOf(out))).toBe(JSON.stringify(snapshots.get(seq)))
      }
    }))

  it.live("a full replay equals the source byte for byte", () =>
    Effect.gen(function*() {
      const out = join(dir, "full.sqlite")
      const run = yield* shoal("oplog", "replay", db, "--until", String(lastSeq), "--out", out)
      expect(run.code).toBe(0)
      const dump = yield* dumpOf(out)
      expect(dump.length).toBeGreaterThan(2000)
      expect(JSON.stringify(dump)).toBe(JSON.stringify(finalDump))
      const ops = yield* Effect.scoped(Effect.flatMap(ReplicaStore.make({ filename: out }), (s) => s.readOps(0, 100_000)))
      expect(ops).toHaveLength(lastSeq)
    }))

  it.live("--until <ISO time> replays the ops committed up to that time", () =>
    Effect.gen(function*() {
      const out = join(dir, "at-time.sqlite")
      const run = yield* shoal("oplog", "replay", db, "--until", boundary.iso, "--out", out)
      expect(run.code).toBe(0)
      expect(run.stderr).toContain(`(seq 1–${boundary.seq}) up to ${boundary.iso}`)
      expect(JSON.stringify(yield* dumpOf(out))).toBe(JSON.stringify(snapshots.get(boundary.seq)))
      const before = yield* shoal("oplog", "replay", db, "--until", "2001-01-01", "--out", join(dir, "empty.sqlite"))
      expect(before.code).toBe(0)
      expect(yield* dumpOf(join(dir, "empty.sqlite"))).toEqual([])
    }))

  it.live("refuses to overwrite --out without --force, and rejects a bad --until", () =>
    Effect.gen(function*() {
      const out = join(dir, "twice.sqlite")
      expect((yield* shoal("oplog", "replay", db, "--until", "3", "--out", out)).code).toBe(0)
      expectOneLineError(yield* shoal("oplog", "replay", db, "--until", "5", "--out", out), /already exists.*--force/)
      expect((yield* shoal("oplog", "replay", db, "--until", "5", "--out", out, "--force")).code).toBe(0)
      expect(JSON.stringify(yield* dumpOf(out))).toContain(`"last_seq":5`)
      expectOneLineError(yield* shoal("oplog", "replay", db, "--until", "yesterday", "--out", join(dir, "x.sqlite")), /--until/)
      expectOneLineError(
        yield* shoal("oplog", "replay", db, "--until", String(lastSeq + 1), "--out", join(dir, "x.sqlite")),
        /past the end of the op log/
      )
      expect(existsSync(join(dir, "x.sqlite"))).toBe(false)
    }))
})

describe("shoal query", () => {
  it.live("runs DQL against a replica file: JSON lines, --args, --table, writes", () =>
    Effect.gen(function*() {
      const copy = join(dir, "query.sqlite")
      expect((yield* shoal("oplog", "replay", db, "--until", String(lastSeq), "--out", copy)).code).toBe(0)
      const people = yield* shoal("query", copy, "SELECT name, age FROM people WHERE age > :min ORDER BY age", "--args", "{\"min\": 30}")
      expect(people.code).toBe(0)
      expect(people.stdout).toBe("{\"name\":\"Ada\",\"age\":36}\n{\"name\":\"Bob\",\"age\":41}\n")
      const table = yield* shoal("query", copy, "SELECT * FROM people ORDER BY name", "--table")
      expect(table.stdout.split("\n")[0]).toMatch(/^_id\s+name\s+age$/)
      expect(table.stdout).toContain("{\"n\":1,\"org\":\"x\"}")
      const insert = yield* shoal("query", copy, "INSERT INTO people DOCUMENTS (:p)", "--args", "{\"p\":{\"_id\":\"cy\",\"age\":3}}")
      expect(insert.code).toBe(0)
      expect(insert.stderr).toMatch(/^insert: 1 document \["cy"\] \(transaction \d+\)\n$/)
      const after = yield* shoal("query", copy, "SELECT * FROM people WHERE _id = 'cy'")
      expect(JSON.parse(after.stdout)).toEqual({ _id: "cy", age: 3 })
    }))
})

describe("errors: one line on stderr, exit code 1", () => {
  it.live("a missing file is reported and not created", () =>
    Effect.gen(function*() {
      const missing = join(dir, "nope", "missing.sqlite")
      mkdirSync(join(dir, "nope"), { recursive: true })
      for (
        const args of [
          ["oplog", "inspect", missing],
          ["oplog", "export", missing],
          ["oplog", "replay", missing, "--until", "1", "--out", join(dir, "nope", "out.sqlite")],
          ["query", missing, "SELECT * FROM c"]
        ]
      ) {
        expectOneLineError(yield* shoal(...args), /no such file/)
      }
      expect(readdirSync(join(dir, "nope"))).toEqual([])
    }))

  it.live("a garbage file, a directory and a foreign SQLite file are refused untouched", () =>
    Effect.gen(function*() {
      const garbage = join(dir, "garbage.sqlite")
      const bytes = Buffer.from(Array.from({ length: 8192 }, (_, i) => (i * 7919) % 256))
      writeFileSync(garbage, bytes)
      expectOneLineError(yield* shoal("oplog", "inspect", garbage), /not a Shoal replica/)
      expectOneLineError(yield* shoal("query", garbage, "SELECT * FROM c"), /not a Shoal replica/)
      expect(readFileSync(garbage).equals(bytes)).toBe(true)
      expectOneLineError(yield* shoal("oplog", "export", dir), /is a directory/)
      const truncated = join(dir, "truncated.sqlite")
      writeFileSync(truncated, readFileSync(db).subarray(0, 3000))
      expectOneLineError(yield* shoal("oplog", "inspect", truncated), /corrupt|malformed|not a Shoal replica/)
      expect(readdirSync(dir).filter((f) => f.startsWith("truncated"))).toEqual(["truncated.sqlite"])
    }))

  it.live("a corrupt replica (damaged pages) is reported", () =>
    Effect.gen(function*() {
      const corrupt = join(dir, "corrupt.sqlite")
      const bytes = Buffer.from(readFileSync(db))
      for (let i = 4096; i < bytes.length - 4096; i++) bytes[i] = (i * 31) % 256
      writeFileSync(corrupt, bytes)
      expectOneLineError(yield* shoal("oplog", "export", corrupt), /corrupt/)
    }))

  it.live("bad DQL and bad --args", () =>
    Effect.gen(function*() {
      expectOneLineError(yield* shoal("query", db, "SELEC * FROM cars"), /DQL syntax error: .*line 1, column 1/)
      expectOneLineError(yield* shoal("query", db, "SELECT * FROM cars WHERE a = :x"), /:x/)
      expectOneLineError(yield* shoal("query", db, "SELECT * FROM cars", "--args", "[1]"), /--args must be a JSON object/)
      expectOneLineError(yield* shoal("query", db, "SELECT * FROM cars", "--args", "{"), /--args is not valid JSON/)
    }))
})
