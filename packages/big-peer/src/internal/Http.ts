/**
 * HTTP plumbing of the Big Peer: one error type carrying a status, bounded
 * body reading with a real 413, bearer credentials.
 *
 * Why not `HttpServerRequest.schemaBodyJson` + `withMaxBodySize`: exceeding
 * `MaxBodySize` destroys the request stream, so the client sees a reset
 * connection instead of a 413 (see shared/effect-idioms/net). A declared
 * `Content-Length` is checked before reading; a chunked body is read up to
 * the limit, then the rest is discarded by Node and the answer is 413 with
 * `connection: close`.
 */
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import { Errors } from "@shoal/client"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { Credential } from "../auth/index.js"

/** A failed HTTP request: status and a description for the `error` field. */
export class HttpFailure extends Data.TaggedError("HttpFailure")<{
  readonly status: number
  readonly description: string
}> {}

/** From an API error (400/401/403/404/413). */
export const fromApiError = (e: Errors.ShoalError): HttpFailure =>
  new HttpFailure({ status: Errors.httpStatus(e), description: e.message })

/** The bearer credential of the request, if any. */
export const bearer: Effect.Effect<Option.Option<Redacted.Redacted<string>>, never, HttpServerRequest.HttpServerRequest> =
  Effect.map(
    HttpServerRequest.HttpServerRequest,
    (request) => Credential.fromAuthorizationHeader(request.headers["authorization"])
  )

const tooLarge = (limit: number) =>
  new HttpFailure({ status: 413, description: `request body too large: the limit is ${limit} bytes` })

/** 413 early when the declared `Content-Length` exceeds the limit; 400 when it is not a number. */
export const checkContentLength = (limit: number) =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
    const header = request.headers["content-length"]
    if (header === undefined) return Effect.void
    if (!/^\d+$/.test(header)) return Effect.fail(new HttpFailure({ status: 400, description: "invalid Content-Length" }))
    return Number(header) > limit ? Effect.fail(tooLarge(limit)) : Effect.void
  })

/** Reads the body, at most `limit` bytes (413 beyond, without resetting the connection). */
export const readBody = (limit: number): Effect.Effect<Buffer, HttpFailure, HttpServerRequest.HttpServerRequest> =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
    Effect.async<Buffer, HttpFailure>((resume) => {
      const incoming = NodeHttpServerRequest.toIncomingMessage(request)
      if (incoming.readableEnded) return resume(Effect.succeed(Buffer.alloc(0)))
      const chunks: Array<Buffer> = []
      let size = 0
      const cleanup = () => {
        incoming.off("data", onData).off("end", onEnd).off("error", onError)
      }
      const onData = (chunk: Buffer) => {
        size += chunk.length
        if (size <= limit) return void chunks.push(chunk)
        cleanup()
        incoming.resume() // flowing with no listener: Node discards the rest, the socket stays usable
        resume(Effect.fail(tooLarge(limit)))
      }
      const onEnd = () => {
        cleanup()
        resume(Effect.succeed(Buffer.concat(chunks)))
      }
      const onError = (e: Error) => {
        cleanup()
        resume(Effect.fail(new HttpFailure({ status: 400, description: `could not read the request body: ${e.message}` })))
      }
      incoming.on("data", onData).once("end", onEnd).once("error", onError)
      return Effect.sync(cleanup)
    }))

/** Reads a JSON body (bounded) and decodes it: 400 for malformed JSON or a wrong shape, 413 when too large. */
export const jsonBody = <A, I>(schema: Schema.Schema<A, I>, limit: number) =>
  Effect.gen(function*() {
    yield* checkContentLength(limit)
    const raw = (yield* readBody(limit)).toString("utf8")
    if (raw.trim().length === 0) return yield* new HttpFailure({ status: 400, description: "the request body is empty: send a JSON object" })
    const json = yield* Effect.try({
      try: (): unknown => JSON.parse(raw),
      catch: (e) =>
        new HttpFailure({ status: 400, description: `malformed JSON body: ${e instanceof Error ? e.message : String(e)}` })
    })
    return yield* Schema.decodeUnknown(schema)(json, { onExcessProperty: "ignore" }).pipe(
      Effect.mapError((e) =>
        new HttpFailure({ status: 400, description: `invalid request body: ${ParseResult.TreeFormatter.formatErrorSync(e)}` })
      )
    )
  })

/** Headers of an error response: 401 names the scheme, 413 closes the connection (the rest of the upload is not read). */
export const errorHeaders = (status: number): Record<string, string> =>
  status === 401 ? { "www-authenticate": "Bearer" } : status === 413 ? { connection: "close" } : {}
