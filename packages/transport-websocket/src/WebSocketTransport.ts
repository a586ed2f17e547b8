/**
 * The WebSocket transport (`ws`): one frame = one binary WebSocket message.
 *
 * - `dial("ws://host:port/path")` opens a client socket (optional headers).
 * - `listen` yields inbound connections from a standalone server
 *   (`listen: { host, port }`, port 0 = any; the bound port is in
 *   `WebSocketServerInfo`) and/or sockets upgraded by another HTTP server
 *   and handed over with `WebSocketServerInfo.accept` (`listen: { attach: true }`).
 *   `fromWebSocket` wraps such a socket directly, for servers that route
 *   connections themselves (the Big Peer's `/sync/:appId`).
 *
 * Backpressure, both ways (`ws` has none of its own):
 * - `send` waits while `socket.bufferedAmount` (bytes queued in user space)
 *   is above `sendHighWaterBytes`, polling every millisecond;
 * - inbound frames go to a queue read by `incoming`; when it holds more than
 *   `inboundHighWaterBytes` (or `inboundHighWaterFrames`) the socket is
 *   paused (`ws.pause()`: the TCP window fills and the remote's `send`
 *   waits), and resumed once the reader drained it below a quarter.
 *
 * Closing: `close()` sends close code 1000 and waits (at most `closeTimeout`)
 * for the handshake, then terminates. `incoming` ends on a clean close
 * (1000, 1001, 1005, or our own close) and fails with `TransportError` on
 * any other code (1006 abnormal drop, 1009 too big, …).
 *
 * The transport needs the live clock (send polling, timeouts): run it with
 * `it.live` / `it.scopedLive` in tests, not under `TestClock`.
 */
import { Protocol, Transport } from "@shoal/core"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import * as Mailbox from "effect/Mailbox"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { randomUUID } from "node:crypto"
import type { IncomingMessage } from "node:http"
import * as WS from "ws"

// ------------------------------------------------------------------ options

export interface ConnectionOptions {
  /** `send` waits while the socket has more than this many bytes queued (default 4 MiB). */
  readonly sendHighWaterBytes?: number
  /** Pause reading when this many inbound bytes wait unread (default 4 MiB). */
  readonly inboundHighWaterBytes?: number
  /** Pause reading when this many inbound frames wait unread (default 1024). */
  readonly inboundHighWaterFrames?: number
  /** Largest frame sent or accepted (default `Protocol.MAX_FRAME_BYTES`); larger inbound closes with 1009. */
  readonly maxFrameBytes?: number
  /** How long `close` waits for the closing handshake before terminating (default 5 s). */
  readonly closeTimeout?: Duration.DurationInput
}

export interface ServerListenOptions {
  /** Interface to bind (default "127.0.0.1"; "0.0.0.0" or "::" for all). */
  readonly host?: string
  /** 0 = any free port (see `WebSocketServerInfo`). */
  readonly port: number
  /** Accept upgrades only on this path (default: any). */
  readonly path?: string
}

export interface Options extends ConnectionOptions {
  /**
   * Accept inbound connections: a standalone server, or `{ attach: true }`
   * to take sockets another HTTP server upgraded (`WebSocketServerInfo.accept`).
   * Absent: dial only (`listen` is empty).
   */
  readonly listen?: ServerListenOptions | { readonly attach: true }
  /** Headers sent with every dial (e.g. `Authorization`). */
  readonly headers?: Readonly<Record<string, string>>
  /** Opening handshake timeout of a dial (default 10 s). */
  readonly openTimeout?: Duration.DurationInput
}

const DEFAULT_SEND_HIGH_WATER = 4 * 1024 * 1024
const DEFAULT_INBOUND_HIGH_WATER = 4 * 1024 * 1024
const DEFAULT_INBOUND_HIGH_WATER_FRAMES = 1024

// ------------------------------------------------------------------ connection

export interface ConnectionMetrics {
  /** Frames / bytes received and not yet read by `incoming`. */
  readonly queuedFrames: number
  readonly queuedBytes: number
  /** Highest `queuedBytes` seen. */
  readonly maxQueuedBytes: number
  /** Reading is paused (inbound backpressure). */
  readonly paused: boolean
  readonly pauses: number
  /** The socket's `bufferedAmount` now, and the highest seen right after a send. */
  readonly bufferedAmount: number
  readonly maxBufferedAmount: number
}

/** A `Connection` over a `ws` socket, with the socket and its buffering metrics. */
export interface WebSocketConnection extends Transport.Connection {
  readonly socket: WS.WebSocket
  readonly metrics: Effect.Effect<ConnectionMetrics>
}

const CLEAN_CODES: ReadonlySet<number> = new Set([1000, 1001, 1005])

const toBytes = (data: WS.RawData): Uint8Array =>
  Array.isArray(data) ? Buffer.concat(data) : data instanceof ArrayBuffer ? new Uint8Array(data) : data

/** Close reasons are limited to 123 bytes of UTF-8. */
const closeReason = (reason: string | undefined): string => {
  if (reason === undefined) return ""
  let out = reason
  while (Buffer.byteLength(out) > 123) out = out.slice(0, -1)
  return out
}

interface Prepared {
  /** Attach the listeners to a socket (synchronous: call it right where the socket is created). */
  readonly attach: (ws: WS.WebSocket) => WebSocketConnection
}

/**
 * Everything a connection needs except its socket, so that creating the
 * socket and attaching its listeners can happen in one synchronous step
 * (no message or error can slip in between).
 */
const prepare = (
  remoteAddress: string,
  options: ConnectionOptions,
  onClosed?: (connection: WebSocketConnection) => void
): Effect.Effect<Prepared> =>
  Effect.gen(function*() {
    const sendHighWater = options.sendHighWaterBytes ?? DEFAULT_SEND_HIGH_WATER
    const highWaterBytes = options.inboundHighWaterBytes ?? DEFAULT_INBOUND_HIGH_WATER
    const highWaterFrames = options.inboundHighWaterFrames ?? DEFAULT_INBOUND_HIGH_WATER_FRAMES
    const maxFrameBytes = options.maxFrameBytes ?? Protocol.MAX_FRAME_BYTES
    const closeTimeout = options.closeTimeout ?? Duration.seconds(5)
    const inbox = yield* Mailbox.make<Uint8Array, Transport.TransportError>()
    const done = yield* Deferred.make<void>()
    const error = (reason: string) => new Transport.TransportError({ address: remoteAddress, reason })

    const attach = (ws: WS.WebSocket): WebSocketConnection => {
      const state = {
        queuedFrames: 0,
        queuedBytes: 0,
        maxQueuedBytes: 0,
        paused: false,
        pauses: 0,
        maxBufferedAmount: 0,
        closingLocally: false,
        lastError: Option.none<string>()
      }

      const onMessage = (data: WS.RawData, isBinary: boolean) => {
        if (!isBinary) {
          state.lastError = Option.some("text frames are not part of the protocol")
          ws.close(1003, "binary frames only")
          return
        }
        const bytes = toBytes(data)
        if (!inbox.unsafeOffer(bytes)) return
        state.queuedFrames++
        state.queuedBytes += bytes.byteLength
        if (state.queuedBytes > state.maxQueuedBytes) state.maxQueuedBytes = state.queuedBytes
        if (!state.paused && (state.queuedBytes > highWaterBytes || state.queuedFrames > highWaterFrames)) {
          state.paused = true
          state.pauses++
          ws.pause() // the TCP window fills: the remote's sends wait
        }
      }
      const onError = (e: Error) => {
        state.lastError = Option.some(e.message)
      }
      const onClose = (code: number, reason: Buffer) => {
        if (state.closingLocally || CLEAN_CODES.has(code)) {
          inbox.unsafeDone(Exit.void)
        } else {
          const why = reason.length > 0 ? Option.some(reason.toString()) : state.lastError
          const detail = Option.match(why, { onNone: () => "", onSome: (w) => `: ${w}` })
          inbox.unsafeDone(Exit.fail(error(`closed abnormally (code ${code}${detail})`)))
        }
        Deferred.unsafeDone(done, Exit.void)
        onClosed?.(connection)
      }

      /** Reading drained the queue: account, and resume a paused socket below a quarter of the marks. */
      const drained = (chunkFrames: number, chunkBytes: number) =>
        Effect.sync(() => {
          state.queuedFrames -= chunkFrames
          state.queuedBytes -= chunkBytes
          if (
            state.paused && state.queuedBytes <= highWaterBytes / 4 && state.queuedFrames <= highWaterFrames / 4 &&
            ws.readyState === WS.WebSocket.OPEN
          ) {
            state.paused = false
            ws.resume()
          }
        })

      const afterRead = (chunk: Chunk.Chunk<Uint8Array>) => {
        let bytes = 0
        for (const frame of chunk) bytes += frame.byteLength
        return Effect.as(drained(chunk.length, bytes), chunk)
      }
      const { incoming, pull } = Transport.readersOf(inbox, afterRead)

      const isOpen = () => ws.readyState === WS.WebSocket.OPEN && !state.closingLocally

      const waitForRoom = Effect.sync(() => ws.bufferedAmount).pipe(
        Effect.repeat({
          schedule: Schedule.spaced("1 millis"),
          while: (buffered) => buffered > sendHighWater && isOpen()
        })
      )

      const send = (frame: Uint8Array): Effect.Effect<void, Transport.TransportError> =>
        Effect.gen(function*() {
          if (frame.byteLength > maxFrameBytes) {
            return yield* Effect.fail(error(`frame of ${frame.byteLength} bytes exceeds the limit of ${maxFrameBytes}`))
          }
          if (ws.bufferedAmount > sendHighWater) yield* waitForRoom
          if (!isOpen()) {
            return yield* Effect.fail(error(Option.getOrElse(state.lastError, () => "connection closed")))
          }
          ws.send(frame, { binary: true })
          if (ws.bufferedAmount > state.maxBufferedAmount) state.maxBufferedAmount = ws.bufferedAmount
        })

      const close = (reason?: string): Effect.Effect<void> =>
        Effect.suspend(() => {
          if (!state.closingLocally && ws.readyState !== WS.WebSocket.CLOSED) {
            state.closingLocally = true
            inbox.unsafeDone(Exit.void) // our own reading ends here
            if (ws.readyState === WS.WebSocket.CONNECTING) ws.terminate()
            else {
              ws.resume() // the remote's close frame must be read for the handshake to finish
              ws.close(1000, closeReason(reason))
            }
          }
          return Deferred.await(done).pipe(
            Effect.timeoutTo({
              duration: closeTimeout,
              onSuccess: () => Effect.void,
              onTimeout: () => Effect.sync(() => ws.terminate())
            }),
            Effect.flatten
          )
        })

      const connection: WebSocketConnection = {
        id: `websocket-${randomUUID()}`,
        remoteAddress,
        send,
        incoming,
        pull,
        close,
        closed: Deferred.await(done),
        socket: ws,
        metrics: Effect.sync(() => ({
          queuedFrames: state.queuedFrames,
          queuedBytes: state.queuedBytes,
          maxQueuedBytes: state.maxQueuedBytes,
          paused: state.paused,
          pauses: state.pauses,
          bufferedAmount: ws.bufferedAmount,
          maxBufferedAmount: state.maxBufferedAmount
        }))
      }

      ws.on("message", onMessage)
      ws.on("error", onError)
      ws.on("close", onClose)
      if (ws.readyState === WS.WebSocket.CLOSED) onClose(1006, Buffer.alloc(0))
      else if (ws.isPaused) ws.resume()
      return connection
    }
    return { attach }
  })

/**
 * Wrap a `ws` socket another server upgraded (attach mode, e.g. the Big
 * Peer's `/sync/:appId`). Call it from the upgrade callback, or `ws.pause()`
 * there first: messages arriving before the listeners are attached would be
 * lost; a paused socket is resumed here. Closing the scope closes the connection.
 */
export const fromWebSocket = (
  ws: WS.WebSocket,
  remoteAddress: string,
  options: ConnectionOptions = {}
): Effect.Effect<WebSocketConnection, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.flatMap(prepare(remoteAddress, options), (prepared) => Effect.sync(() => prepared.attach(ws))),
    (connection) => connection.close()
  )

/** A human-readable address of the remote end of an upgraded request. */
export const remoteAddressOf = (request: IncomingMessage): string => {
  const { remoteAddress, remotePort } = request.socket
  if (remoteAddress === undefined) return "unknown"
  return remoteAddress.includes(":") ? `[${remoteAddress}]:${remotePort ?? 0}` : `${remoteAddress}:${remotePort ?? 0}`
}

// ------------------------------------------------------------------ transport

/** The transport, with its connections typed as `WebSocketConnection` (socket + metrics). */
export interface WebSocketTransportShape extends Transport.TransportShape {
  readonly dial: (address: string) => Effect.Effect<WebSocketConnection, Transport.TransportError, Scope.Scope>
  readonly listen: Stream.Stream<WebSocketConnection, Transport.TransportError>
}

export interface WebSocketServerInfoShape {
  /** Where the standalone server listens (none without one). */
  readonly address: Option.Option<{ readonly host: string; readonly port: number }>
  /** `ws://host:port{path}` of the standalone server (none without one). */
  readonly url: Option.Option<string>
  /**
   * Hand a socket upgraded elsewhere to `listen` (pause it in the upgrade
   * callback if this does not run right away). Closes it with 1013 when the
   * transport does not listen.
   */
  readonly accept: (socket: WS.WebSocket, remoteAddress: string) => Effect.Effect<void>
}

export class WebSocketServerInfo extends Context.Tag("@shoal/transport-websocket/WebSocketServerInfo")<
  WebSocketServerInfo,
  WebSocketServerInfoShape
>() {}

const isServerListen = (listen: Options["listen"]): listen is ServerListenOptions =>
  listen !== undefined && "port" in listen

/** Build the transport; connections and the server live as long as the scope. */
export const make = (
  options: Options = {}
): Effect.Effect<
  { readonly transport: WebSocketTransportShape; readonly server: WebSocketServerInfoShape },
  Transport.TransportError,
  Scope.Scope
> =>
  Effect.gen(function*() {
    const live = new Set<WebSocketConnection>()
    const accepted = yield* Mailbox.make<WebSocketConnection, Transport.TransportError>()
    const run = yield* FiberSet.makeRuntime<never, void, never>()
    const openTimeoutMs = Duration.toMillis(options.openTimeout ?? Duration.seconds(10))
    const maxPayload = options.maxFrameBytes ?? Protocol.MAX_FRAME_BYTES

    /** Prepare a connection that untracks itself once closed. */
    const prepareTracked = (remoteAddress: string) =>
      prepare(remoteAddress, options, (connection) => live.delete(connection))
    const track = (connection: WebSocketConnection) => {
      if (connection.socket.readyState !== WS.WebSocket.CLOSED) live.add(connection)
      return connection
    }

    const listening = options.listen !== undefined
    const accept = (ws: WS.WebSocket, remoteAddress: string): Effect.Effect<void> =>
      Effect.gen(function*() {
        if (!listening) {
          ws.close(1013, "not accepting connections")
          return
        }
        const prepared = yield* prepareTracked(remoteAddress)
        const connection = track(prepared.attach(ws))
        if (!(yield* accepted.offer(connection))) yield* connection.close("transport stopped")
      })

    // -------------------------------------------------------------- standalone server

    let address: Option.Option<{ readonly host: string; readonly port: number }> = Option.none()
    let url: Option.Option<string> = Option.none()
    const listen = options.listen
    if (isServerListen(listen)) {
      const host = listen.host ?? "127.0.0.1"
      const where = `ws://${host}:${listen.port}${listen.path ?? ""}`
      const server = yield* Effect.acquireRelease(
        Effect.async<WS.WebSocketServer, Transport.TransportError>((resume) => {
          const wss = new WS.WebSocketServer({
            host,
            port: listen.port,
            ...(listen.path !== undefined ? { path: listen.path } : {}),
            maxPayload,
            perMessageDeflate: false
          })
          const onError = (e: Error) => {
            wss.close()
            resume(Effect.fail(new Transport.TransportError({ address: where, reason: `cannot listen: ${e.message}` })))
          }
          wss.once("error", onError)
          wss.once("listening", () => {
            wss.off("error", onError)
            wss.on("error", () => {}) // after listening, errors surface per connection
            resume(Effect.succeed(wss))
          })
          wss.on("connection", (ws: WS.WebSocket, request: IncomingMessage) => {
            ws.pause() // until `accept` has attached its listeners (on the next fiber turn)
            run(accept(ws, remoteAddressOf(request)))
          })
        }),
        (wss) => Effect.async<void>((resume) => wss.close(() => resume(Effect.void)))
      )
      const bound = server.address()
      if (bound !== null && typeof bound === "object") {
        const shownHost = bound.family === "IPv6" ? `[${bound.address}]` : bound.address
        address = Option.some({ host: bound.address, port: bound.port })
        url = Option.some(`ws://${shownHost}:${bound.port}${listen.path ?? ""}`)
      }
    }

    // Released first (finalizers run in reverse): end `listen` and close every open connection,
    // then the server closes (its callback waits for its sockets).
    yield* Effect.addFinalizer(() =>
      Effect.zipRight(
        accepted.end,
        Effect.forEach([...live], (connection) => connection.close("transport stopped"), {
          concurrency: "unbounded",
          discard: true
        })
      )
    )

    // -------------------------------------------------------------- dial

    const dial = (target: string): Effect.Effect<WebSocketConnection, Transport.TransportError, Scope.Scope> =>
      Effect.gen(function*() {
        const fail = (reason: string) => new Transport.TransportError({ address: target, reason })
        if (!/^wss?:\/\//.test(target)) return yield* Effect.fail(fail("not a ws:// or wss:// URL"))
        const prepared = yield* prepareTracked(target)
        const connection = yield* Effect.acquireRelease(
          Effect.try({
            // create the socket and attach its listeners in one step
            try: () =>
              track(prepared.attach(
                new WS.WebSocket(target, {
                  headers: { ...options.headers },
                  maxPayload,
                  perMessageDeflate: false,
                  handshakeTimeout: openTimeoutMs
                })
              )),
            catch: (e) => fail(e instanceof Error ? e.message : String(e))
          }),
          (c) => c.close()
        )
        const ws = connection.socket
        // wait for the opening handshake (interruptible: the scope then terminates the socket)
        yield* Effect.async<void, Transport.TransportError>((resume) => {
          if (ws.readyState === WS.WebSocket.OPEN) return resume(Effect.void)
          let lastError: string | undefined
          const onOpen = () => {
            cleanup()
            resume(Effect.void)
          }
          const onError = (e: Error) => {
            lastError = e.message
          }
          const onClose = (code: number) => {
            cleanup()
            resume(Effect.fail(fail(lastError ?? `closed during the opening handshake (code ${code})`)))
          }
          const cleanup = () => {
            ws.off("open", onOpen)
            ws.off("error", onError)
            ws.off("close", onClose)
          }
          ws.on("open", onOpen)
          ws.on("error", onError)
          ws.on("close", onClose)
          if (ws.readyState === WS.WebSocket.CLOSED) onClose(1006)
          return Effect.sync(cleanup)
        })
        return connection
      })

    const transport: WebSocketTransportShape = {
      kind: "websocket",
      dial,
      listen: listening ? Mailbox.toStream(accepted) : Stream.empty,
      discover: Stream.empty
    }
    return { transport, server: { address, url, accept } }
  })

/** `Transport` (kind "websocket") and `WebSocketServerInfo`, for the lifetime of the layer. */
export const layer = (
  options: Options = {}
): Layer.Layer<Transport.Transport | WebSocketServerInfo, Transport.TransportError> =>
  Layer.scopedContext(
    Effect.map(make(options), ({ server, transport }) =>
      Context.make(Transport.Transport, transport).pipe(Context.add(WebSocketServerInfo, server))
    )
  )

// ------------------------------------------------------------------ reconnecting

/**
 * Exponential backoff from `retryIntervalMs` (×2 per attempt), capped at
 * `maxRetryIntervalMs` (default max(retryIntervalMs, 30 s)), with ±20 % jitter.
 */
export const reconnectSchedule = (
  retryIntervalMs: number,
  maxRetryIntervalMs: number = Math.max(retryIntervalMs, 30_000)
): Schedule.Schedule<Duration.Duration> =>
  Schedule.exponential(Duration.millis(retryIntervalMs), 2).pipe(
    Schedule.modifyDelay((_, delay) => Duration.min(delay, Duration.millis(maxRetryIntervalMs))),
    Schedule.jittered
  )

export interface ReconnectOptions {
  readonly retryIntervalMs: number
  readonly maxRetryIntervalMs?: number
  /** Called with each failed dial (logging). */
  readonly onError?: (error: Transport.TransportError) => Effect.Effect<void>
}

/**
 * Keep one connection up: emits a connection, waits until it closes, dials
 * again. Failed dials, and connections that close within
 * `retryIntervalMs` of opening, back off with `reconnectSchedule`; a
 * connection that lasted longer resets the backoff. The current connection
 * is closed when the stream ends. Works with any transport's `dial`.
 */
export const reconnecting = (
  dial: Effect.Effect<Transport.Connection, Transport.TransportError, Scope.Scope>,
  options: ReconnectOptions
): Stream.Stream<Transport.Connection> =>
  Stream.unwrapScoped(
    Effect.gen(function*() {
      const outer = yield* Effect.scope
      const driver = yield* Schedule.driver(reconnectSchedule(options.retryIntervalMs, options.maxRetryIntervalMs))
      const backoff = Effect.catchAll(driver.next(undefined), () => Effect.void)
      interface Current {
        readonly scope: Scope.CloseableScope
        readonly connection: Transport.Connection
        readonly since: number
      }
      let current: Current | undefined

      const next: Effect.Effect<Transport.Connection> = Effect.gen(function*() {
        if (current !== undefined) {
          const previous = current
          current = undefined
          yield* previous.connection.closed
          yield* Scope.close(previous.scope, Exit.void)
          const lived = (yield* Clock.currentTimeMillis) - previous.since
          if (lived >= options.retryIntervalMs) yield* driver.reset
          else yield* backoff
        }
        while (true) {
          const scope = yield* Scope.fork(outer, ExecutionStrategy.sequential)
          const attempt = yield* Effect.either(Scope.extend(dial, scope))
          if (attempt._tag === "Right") {
            current = { scope, connection: attempt.right, since: yield* Clock.currentTimeMillis }
            return attempt.right
          }
          yield* Scope.close(scope, Exit.void)
          if (options.onError !== undefined) yield* options.onError(attempt.left)
          yield* backoff
        }
      })
      return Stream.repeatEffect(next)
    })
  )
