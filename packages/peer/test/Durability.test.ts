import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { SmallPeer } from "../src/index.js"

/** Start the fixture, wait until it reports all writes, then SIGKILL it. */
const writeAndKill = (dir: string) =>
  Effect.async<number, Error>((resume) => {
    const child = spawn(process.execPath, ["--import", "tsx", join(__dirname, "fixtures/write-then-hang.ts"), dir], {
      stdio: ["ignore", "pipe", "inherit"]
    })
    let out = ""
    child.stdout.on("data", (b: Buffer) => {
      out += b.toString()
      if (out.includes("written 5\n")) child.kill("SIGKILL")
    })
    child.on("exit", (_code, signal) =>
      signal === "SIGKILL" ? resume(Effect.succeed(5)) : resume(Effect.fail(new Error(`child exited early: ${out}`))))
    return Effect.sync(() => child.kill("SIGKILL"))
  })

describe("durability", () => {
  it.live("a write acknowledged before SIGKILL is there after restart", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "shoal-crash-"))
      yield* writeAndKill(dir)
      const items = yield* Effect.gen(function*() {
        const peer = yield* SmallPeer
        return (yield* peer.execute("SELECT * FROM crash ORDER BY i")).items
      }).pipe(Effect.scoped, Effect.provide(SmallPeer.layer({ appId: "crash", persistenceDir: dir })))
      expect(items.map((d) => d._id)).toEqual(["k0", "k1", "k2", "k3", "k4"])
    }), 60_000)
})
