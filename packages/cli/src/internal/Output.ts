/**
 * Where the CLI writes: stdout for results, stderr for progress and
 * summaries. Results are buffered and flushed in large chunks, waiting for
 * each chunk to be written (backpressure when piped into a slow reader).
 * Files given with `--out` are written to a temporary name next to the
 * target and renamed into place only when the command succeeds.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import { closeSync, existsSync, openSync, renameSync, rmSync, statSync, writeSync } from "node:fs"
import { basename, dirname, join } from "node:path"
import { CliError } from "../CliError.js"

export interface Sink {
  /** Append text (buffered). */
  readonly write: (text: string) => Effect.Effect<void, CliError>
  /** Write out everything buffered. */
  readonly flush: Effect.Effect<void, CliError>
}

export interface OutputShape {
  /** Results. */
  readonly stdout: Sink
  /** Progress, summaries, warnings (unbuffered). */
  readonly stderr: (text: string) => Effect.Effect<void>
  /** Whether stderr is a terminal (progress then rewrites one line). */
  readonly stderrIsTTY: boolean
}

export class Output extends Context.Tag("@shoal/cli/Output")<Output, OutputShape>() {}

const FLUSH_AT = 64 * 1024

const buffered = (writeOut: (chunk: string) => Effect.Effect<void, CliError>): Sink => {
  let buffer = ""
  const flush = Effect.suspend(() => {
    if (buffer.length === 0) return Effect.void
    const chunk = buffer
    buffer = ""
    return writeOut(chunk)
  })
  return {
    write: (text) =>
      Effect.suspend(() => {
        buffer += text
        return buffer.length >= FLUSH_AT ? flush : Effect.void
      }),
    flush
  }
}

const streamWrite = (stream: NodeJS.WritableStream, chunk: string) =>
  Effect.async<void, CliError>((resume) => {
    stream.write(chunk, (err) => {
      resume(err == null ? Effect.void : Effect.fail(new CliError({ message: `cannot write output: ${err.message}` })))
    })
  })

/** process.stdout / process.stderr. */
export const layerNode: Layer.Layer<Output> = Layer.sync(Output, () => ({
  stdout: buffered((chunk) => streamWrite(process.stdout, chunk)),
  stderr: (text) => Effect.sync(() => void process.stderr.write(text)),
  stderrIsTTY: process.stderr.isTTY === true
}))

/** Captures both streams in memory (in-process tests). */
export const layerCapture = (into: { stdout: string; stderr: string }): Layer.Layer<Output> =>
  Layer.succeed(Output, {
    stdout: buffered((chunk) => Effect.sync(() => void (into.stdout += chunk))),
    stderr: (text) => Effect.sync(() => void (into.stderr += text)),
    stderrIsTTY: false
  })

const describe = (e: unknown): string => (e instanceof Error ? e.message : String(e))

const attempt = <A>(what: string, f: () => A) =>
  Effect.try({ try: f, catch: (e) => new CliError({ message: `${what}: ${describe(e)}` }) })

/**
 * Refuse to replace `path` unless `force`; the returned temporary path sits in
 * the same directory. When the surrounding scope closes with success the
 * temporary file (and any SQLite -wal/-shm companions) replaces `path`;
 * otherwise it is removed. Finalizers run in reverse order, so resources
 * opened on the temporary path after this call are closed before the rename.
 */
export const atomicTarget = (path: string, force: boolean) =>
  Effect.gen(function*() {
    if (existsSync(path) && statSync(path).isDirectory()) {
      return yield* new CliError({ message: `${path} is a directory; --out takes a file name` })
    }
    if (existsSync(path) && !force) {
      return yield* new CliError({ message: `${path} already exists (use --force to overwrite it)` })
    }
    if (!existsSync(dirname(path))) {
      return yield* new CliError({ message: `no such directory: ${dirname(path)}` })
    }
    const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`)
    const companions = ["", "-wal", "-shm", "-journal"]
    const removeTmp = () => companions.forEach((s) => rmSync(tmp + s, { force: true }))
    yield* Effect.acquireRelease(
      attempt(`cannot write ${path}`, () => {
        removeTmp()
        return tmp
      }),
      (_, exit) =>
        Exit.isSuccess(exit)
          ? attempt(`cannot write ${path}`, () => {
            for (const s of companions) rmSync(path + s, { force: true })
            for (const s of companions) if (existsSync(tmp + s)) renameSync(tmp + s, path + s)
          }).pipe(
            Effect.catchAll((e) => Effect.sync(removeTmp).pipe(Effect.zipRight(Effect.die(e))))
          )
          : Effect.sync(removeTmp)
    )
    return tmp
  })

/** A sink writing to `path` (atomically, see `atomicTarget`). Scoped. */
export const fileSink = (path: string, force: boolean) =>
  Effect.gen(function*() {
    const tmp = yield* atomicTarget(path, force)
    const fd = yield* Effect.acquireRelease(
      attempt(`cannot write ${path}`, () => openSync(tmp, "w")),
      (fd) => Effect.sync(() => closeSync(fd))
    )
    // Callers flush before the scope closes; only what was flushed is renamed into place.
    return buffered((chunk) => attempt(`cannot write ${path}`, () => void writeSync(fd, chunk)))
  })
