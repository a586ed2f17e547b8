/**
 * Entry point of the `shoal` binary (bin/shoal.js runs it through tsx).
 * Failures are reported by `Cli.run` as one line on stderr (exit code 1);
 * Ctrl-C interrupts the command, runs its finalizers and exits with 130.
 */
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import { run } from "./Cli.js"
import { layerNode } from "./internal/Output.js"

// `shoal oplog export … | head`: the reader went away, stop quietly.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(0)
  process.stderr.write(`shoal: cannot write output: ${e.message}\n`)
  process.exit(1)
})

// Logs (warnings from the replica) go to stderr, never into the results on stdout.
const logs = Logger.replace(Logger.defaultLogger, Logger.withConsoleError(Logger.logfmtLogger))

const program = run(process.argv).pipe(
  Effect.provide(Layer.mergeAll(NodeContext.layer, layerNode, logs))
)

NodeRuntime.runMain(program, {
  disableErrorReporting: true,
  disablePrettyLogger: true,
  teardown: (exit, onExit) =>
    onExit(Exit.isSuccess(exit) ? 0 : Cause.isInterruptedOnly(exit.cause) ? 130 : 1)
})
