/**
 * A `Transport.Connection` over an `@effect/platform` WebSocket `Socket`:
 * the socket the Big Peer's HTTP server hands out on `/sync/{appId}` upgrades.
 *
 * Why not `@shoal/transport-websocket`'s `fromWebSocket(ws)`: it needs the
 * raw `ws` object at upgrade time, and `@effect/platform` performs the
 * upgrade inside `Socket.runRaw` and exposes the `ws` only to frame handlers.
 *
 * One WebSocket message = one frame (binary only; a text frame closes the
 * connection with 1003). Backpressure, which the platform Socket does not do:
 * - outbound: `send` waits while the `ws` send buffer holds more than
 *   {@link SEND_HIGH_WATER_BYTES};
 * - inbound: the socket is paused (`ws.pause()`, TCP backpressure) when
 *   {@link INBOUND_HIGH_WATER} frames wait for the consumer, resumed at
 *   {@link INBOUND_LOW_WATER}.
 * Both need the `ws` object, which the platform only exposes to frame
 * handlers: it is captured on the first inbound frame (the dialer always
 * speaks first, so only the handshake runs without it).
 */
import * as Socket from "@effect/platform/Socket"
import { Transport } from "@shoal/core"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as WS from "ws"

export const INBOUND_HIGH_WATER = 32
export const INBOUND_LOW_WATER = 8
export const SEND_HIGH_WATER_BYTES = 1024 * 1024

let nextId = 0

const causeText = (cause: unknown): string | undefined => {
  if (cause instanceof Error) return cause.message
  if (typeof cause === "object" && cause !== null && "message" in cause && typeof cause.message === "string") {
    return cause.message
  }
  return undefined
}

const describe = (e: Socket.SocketError): string => {
  if (e.reason === "Close") return `closed with code ${e.code}${e.closeReason ? ` (${e.closeReason})` : ""}`
  const detail = causeText(e.cause)
  return detail === undefined ? e.message : `${e.message}: ${detail}`
}

/**
 * Runs `socket` for the current scope and exposes it as a Connection. Waits
 * until the socket is open (fails with `TransportError` if it cannot open).
 */
export const fromSocket = (
  socket: Socket.Socket,
  remoteAddress: string
): Effect.Effect<Transport.Connection, Transport.TransportError, Scope.Scope> =>
  Effect.gen(function*() {
    const id = `ws-${process.pid}-${nextId++}`
    const error = (reason: string) => new Transport.TransportError({ address: remoteAddress, reason })
    const write = yield* socket.writer
    const inbound = yield* Queue.unbounded<Uint8Array>() // bounded in practice by pause()
    const opened = yield* Deferred.make<void>()
    const ended = yield* Deferred.make<void, Transport.TransportError>()
    const sendLock = yield* Effect.makeSemaphore(1)
    let raw: WS.WebSocket | undefined
    let paused = false
    let capturing = false

    const queued = () => Option.getOrElse(inbound.unsafeSize(), () => 0)
    const pauseIfFull = () => {
      if (!paused && raw !== undefined && queued() >= INBOUND_HIGH_WATER) {
        paused = true
        raw.pause()
      }
    }
    const resumeIfDrained = () => {
      if (paused && raw !== undefined && queued() <= INBOUND_LOW_WATER) {
        paused = false
        raw.resume()
      }
    }
    const capture = Effect.flatMap(Effect.serviceOption(Socket.WebSocket), (ws) =>
      Effect.sync(() => {
        if (Option.isSome(ws) && ws.value instanceof WS.WebSocket) raw = ws.value
        pauseIfFull()
      }))

    // Called synchronously for every message, in order: enqueue here, never in a forked effect.
    const onFrame = (data: string | Uint8Array) => {
      if (typeof data === "string") {
        return write(new Socket.CloseEvent(1003, "binary frames only")).pipe(Effect.ignore)
      }
      inbound.unsafeOffer(data)
      pauseIfFull()
      if (raw === undefined && !capturing) {
        capturing = true
        return capture
      }
    }

    yield* socket.runRaw(onFrame, { onOpen: Deferred.succeed(opened, undefined) }).pipe(
      Effect.exit,
      Effect.flatMap((exit) =>
        Exit.isSuccess(exit)
          ? Deferred.succeed(ended, undefined)
          : Deferred.fail(ended, error(exit.cause._tag === "Fail" ? describe(exit.cause.error) : "socket failed"))
      ),
      Effect.forkScoped
    )
    // Open, or the reason it could not open.
    yield* Effect.raceFirst(
      Deferred.await(opened),
      Effect.zipRight(Deferred.await(ended), Effect.fail(error("closed before it opened")))
    )

    // Frames already received are delivered before the stream ends (or fails).
    const pull: Effect.Effect<Uint8Array, Option.Option<Transport.TransportError>> = Effect.gen(function*() {
      const ready = yield* Queue.poll(inbound)
      if (Option.isSome(ready)) {
        resumeIfDrained()
        return ready.value
      }
      const next = yield* Effect.raceFirst(
        Effect.map(Queue.take(inbound), Option.some),
        Effect.as(Effect.exit(Deferred.await(ended)), Option.none<Uint8Array>())
      )
      if (Option.isSome(next)) {
        resumeIfDrained()
        return next.value
      }
      const last = yield* Queue.poll(inbound)
      if (Option.isSome(last)) return last.value
      const end = yield* Effect.exit(Deferred.await(ended))
      return yield* Effect.fail(Exit.isSuccess(end) ? Option.none() : Option.some(error(
        end.cause._tag === "Fail" ? end.cause.error.reason : "socket failed"
      )))
    })

    const closedError = Effect.zipRight(Effect.exit(Deferred.await(ended)), Effect.fail(error("connection closed")))

    const send = (frame: Uint8Array): Effect.Effect<void, Transport.TransportError> =>
      sendLock.withPermits(1)(Effect.gen(function*() {
        if (yield* Deferred.isDone(ended)) return yield* error("connection closed")
        while (raw !== undefined && raw.bufferedAmount > SEND_HIGH_WATER_BYTES) {
          if (yield* Deferred.isDone(ended)) return yield* error("connection closed")
          yield* Effect.sleep("2 millis")
        }
        yield* Effect.raceFirst(
          write(frame).pipe(Effect.mapError((e) => error(`send failed: ${describe(e)}`))),
          closedError
        )
      }))

    const close = (reason?: string): Effect.Effect<void> =>
      Effect.gen(function*() {
        if (yield* Deferred.isDone(ended)) return
        const text = (reason ?? "").slice(0, 100)
        yield* Effect.raceFirst(write(new Socket.CloseEvent(1000, text)).pipe(Effect.ignore), Effect.ignore(closedError))
      })

    return {
      id,
      remoteAddress,
      send,
      incoming: Stream.repeatEffectOption(pull),
      close,
      closed: Effect.ignore(Deferred.await(ended))
    } satisfies Transport.Connection
  })
