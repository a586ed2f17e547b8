import * as Schema from "effect/Schema"

/**
 * Every failure the `shoal` binary reports: one line of text, printed as
 * `shoal: <message>` on stderr with exit code 1.
 */
export class CliError extends Schema.TaggedError<CliError>()("CliError", {
  message: Schema.String
}) {}

/** Turn any typed error (store, DQL, replica) into a CliError, keeping its message. */
export const fromError = (context: string | undefined) => (e: { readonly message: string }): CliError =>
  new CliError({ message: context === undefined ? oneLine(e.message) : `${context}: ${oneLine(e.message)}` })

/** Messages are printed on one line: collapse newlines and runs of blanks. */
export const oneLine = (text: string): string => text.replace(/\s*\n\s*/g, " ").trim()
