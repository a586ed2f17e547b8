import { describe, expect, it } from "@effect/vitest"
import { Effect, Schedule } from "effect"
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"

const MAIN = join(__dirname, "../../../examples/custom-peer/src/main.ts")

interface Proc {
  readonly child: ChildProcessWithoutNullStreams
  readonly lines: Array<Record<string, unknown>>
  readonly send: (line: string) => void
}

const freePort = Effect.async<number>((resume) => {
  const srv = createServer()
  srv.listen(0, "127.0.0.1", () => {
    const address = srv.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    srv.close(() => resume(Effect.succeed(port)))
  })
})

/** The custom-peer example as a real OS process, driven through stdin/stdout. */
const start = (args: ReadonlyArray<string>) =>
  Effect.acquireRelease(
    Effect.sync((): Proc => {
      const child = spawn(process.execPath, ["--import", "tsx", MAIN, ...args], { stdio: ["pipe", "pipe", "pipe"] })
      const lines: Array<Record<string, unknown>> = []
      let buffer = ""
      child.stdout.on("data", (b: Buffer) => {
        buffer += b.toString()
        let nl: number
        while ((nl = buffer.indexOf("\n")) >= 0) {
          const line = buffer.slice(0, nl)
          buffer = buffer.slice(nl + 1)
          try {
            lines.push(JSON.parse(line))
          } catch {
            // log lines from the runtime
          }
        }
      })
      child.stderr.on("data", () => {})
      return { child, lines, send: (line) => void child.stdin.write(line + "\n") }
    }),
    (p) =>
      Effect.async<void>((resume) => {
        if (p.child.exitCode !== null) return resume(Effect.void)
        p.child.on("exit", () => resume(Effect.void))
        p.child.kill("SIGTERM")
      })
  )

const waitFor = (p: Proc, check: (line: Record<string, unknown>) => boolean) =>
  Effect.suspend(() => (p.lines.some(check) ? Effect.void : Effect.fail("not yet"))).pipe(
    Effect.retry(Schedule.spaced("25 millis").pipe(Schedule.upTo("30 seconds")))
  )

const latestNotes = (p: Proc) => {
  const changes = p.lines.filter((l) => "changed" in l)
  return JSON.stringify(changes[changes.length - 1]?.changed ?? null)
}

describe("two OS processes over WebSocket", () => {
  it.live("sync both ways with concurrent edits of the same and different fields", () =>
    Effect.scoped(Effect.gen(function*() {
      const root = mkdtempSync(join(tmpdir(), "shoal-2p-"))
      const port = yield* freePort
      const a = yield* start(["--listen", String(port), "--dir", join(root, "a"), "--name", "a"])
      yield* waitFor(a, (l) => "ready" in l)
      const b = yield* start(["--connect", `ws://127.0.0.1:${port}`, "--dir", join(root, "b"), "--name", "b", "--retry-ms", "100"])
      yield* waitFor(b, (l) => "ready" in l)

      a.send(`INSERT INTO notes DOCUMENTS (:d) -- {"d": {"_id": "n1", "title": "draft", "body": "x", "tags": ["a"]}}`)
      yield* waitFor(b, (l) => JSON.stringify(l).includes("draft"))

      // Concurrent: the same field on both sides (last writer wins), different fields (both kept).
      a.send(`UPDATE notes SET title = 'from a', body = 'body a' WHERE _id = 'n1'`)
      b.send(`UPDATE notes SET title = 'from b', tags = ['b'] WHERE _id = 'n1'`)
      b.send(`INSERT INTO notes DOCUMENTS (:d) -- {"d": {"_id": "n2", "title": "only b"}}`)
      a.send(`UPDATE notes APPLY views PN_INCREMENT BY 2 WHERE _id = 'n1'`)
      b.send(`UPDATE notes APPLY views PN_INCREMENT BY 3 WHERE _id = 'n1'`)

      const converged = Effect.suspend(() => {
        const [x, y] = [latestNotes(a), latestNotes(b)]
        return x === y && x.includes("only b") && x.includes("\"views\":5") && x.includes("body a") && x.includes("[\"b\"]")
          ? Effect.succeed(x)
          : Effect.fail("not yet")
      }).pipe(Effect.retry(Schedule.spaced("50 millis").pipe(Schedule.upTo("30 seconds"))))
      const final = JSON.parse(yield* converged) as Array<Record<string, unknown>>
      const n1 = final.find((d) => d._id === "n1")!
      expect(["from a", "from b"]).toContain(n1.title)
      expect(n1).toMatchObject({ body: "body a", tags: ["b"], views: 5 })
      expect(final.find((d) => d._id === "n2")).toEqual({ _id: "n2", title: "only b" })
    })), 90_000)
})
