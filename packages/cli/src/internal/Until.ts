/** `--until`: a seq number, or an ISO-8601 time compared with each op's HLC time. */
import * as Either from "effect/Either"

export type Until =
  | { readonly _tag: "Seq"; readonly seq: number }
  | { readonly _tag: "Time"; readonly ms: number; readonly text: string }

const ISO = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i

export const parse = (text: string): Either.Either<Until, string> => {
  const t = text.trim()
  if (/^\d+$/.test(t)) {
    const seq = Number(t)
    return Number.isSafeInteger(seq)
      ? Either.right({ _tag: "Seq", seq })
      : Either.left(`--until ${t} is not a valid seq number`)
  }
  if (ISO.test(t)) {
    // Times without an offset are UTC (not the machine's zone), like date-only ones.
    const normal = t.replace(" ", "T")
    const zoned = /T/i.test(normal) && !/(?:Z|[+-]\d{2}:?\d{2})$/i.test(normal) ? normal + "Z" : normal
    const ms = Date.parse(zoned)
    if (!Number.isNaN(ms)) return Either.right({ _tag: "Time", ms, text: new Date(ms).toISOString() })
  }
  return Either.left(
    `--until expects a seq number or an ISO time such as 2026-01-31T12:00:00Z, got '${text}'`
  )
}
