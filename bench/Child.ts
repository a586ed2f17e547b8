/**
 * Child processes of the benchmarks (sync peers, the Big Peer): run a
 * TypeScript entry point the way `npm run bench` runs itself
 * (runtime/register.mjs, plus SHOAL_BENCH_CHILD_FLAGS such as `--cpu-prof`),
 * hand each stdout line to the caller, and stop the process when the scope
 * closes: SIGTERM, then SIGKILL after `graceMs`. SHOAL_BENCH_CHILD_STDERR
 * passes the child's stderr through.
 */
import * as Effect from "effect/Effect"
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process"

/** Node flags that run a TypeScript entry point like `npm run bench` does. */
export const childRuntimeFlags: ReadonlyArray<string> = [
  "--import",
  new URL("./runtime/register.mjs", import.meta.url).href
]

export interface ChildOptions {
  readonly cwd?: string
  readonly env?: NodeJS.ProcessEnv
  readonly onLine: (line: string) => void
  readonly onStderr?: (chunk: Buffer) => void
  /** Extra Node flags of this child (before SHOAL_BENCH_CHILD_FLAGS). */
  readonly nodeFlags?: ReadonlyArray<string>
  readonly graceMs: number
}

export const benchChild = (entry: string, args: ReadonlyArray<string>, options: ChildOptions) =>
  Effect.acquireRelease(
    Effect.sync((): ChildProcessWithoutNullStreams => {
      const flags = (process.env.SHOAL_BENCH_CHILD_FLAGS ?? "").split(" ").filter((f) => f !== "")
      const proc = spawn(process.execPath, [...(options.nodeFlags ?? []), ...flags, ...childRuntimeFlags, entry, ...args], {
        ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
        ...(options.env === undefined ? {} : { env: options.env }),
        stdio: ["pipe", "pipe", "pipe"]
      })
      let buffer = ""
      proc.stdout.on("data", (b: Buffer) => {
        buffer += b.toString()
        for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
          options.onLine(buffer.slice(0, nl))
          buffer = buffer.slice(nl + 1)
        }
      })
      proc.stderr.on("data", (b: Buffer) => {
        options.onStderr?.(b)
        if (process.env.SHOAL_BENCH_CHILD_STDERR !== undefined) process.stderr.write(b)
      })
      return proc
    }),
    (proc) =>
      Effect.async<void>((resume) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resume(Effect.void)
        const force = setTimeout(() => proc.kill("SIGKILL"), options.graceMs)
        proc.on("exit", () => {
          clearTimeout(force)
          resume(Effect.void)
        })
        proc.kill("SIGTERM")
      })
  )
