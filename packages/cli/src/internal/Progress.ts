/**
 * Progress of long work on stderr: at most a few lines per second, only once
 * the work has run for a moment (short runs print just the summary). On a
 * terminal the line is rewritten in place.
 */
import * as Effect from "effect/Effect"
import { Output } from "./Output.js"

const FIRST_AFTER_MS = 500
const TTY_EVERY_MS = 250
const PIPE_EVERY_MS = 1000

export const rate = (n: number, ms: number) => Math.round(ms > 0 ? (n * 1000) / ms : 0).toLocaleString("en-US")

export const make = (label: string) =>
  Effect.map(Output, (out) => {
    const started = performance.now()
    let lastPrint = started
    let printed = false
    const every = out.stderrIsTTY ? TTY_EVERY_MS : PIPE_EVERY_MS
    return {
      elapsedMs: () => performance.now() - started,
      /** `done` units of `total` (total may be an estimate). */
      update: (done: number, total: number, unit: string) =>
        Effect.suspend(() => {
          const now = performance.now()
          if (now - started < FIRST_AFTER_MS || now - lastPrint < every) return Effect.void
          lastPrint = now
          printed = true
          const pct = total > 0 ? Math.min(100, (100 * done) / total).toFixed(1) : "?"
          const text = `${label}: ${pct}% (${done.toLocaleString("en-US")}/${total.toLocaleString("en-US")} ${unit}, ${
            rate(done, now - started)
          } ${unit}/s)`
          return out.stderr(out.stderrIsTTY ? `\r${text}\u001b[K` : `${text}\n`)
        }),
      /** Final line (always printed). */
      done: (summary: string) =>
        out.stderr(out.stderrIsTTY && printed ? `\r${label}: ${summary}\u001b[K\n` : `${label}: ${summary}\n`)
    }
  })
