import { describe, expect, it } from "@effect/vitest"
import { Protocol, Transport } from "@shoal/core"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { createServer } from "node:http"
import type { Server } from "node:http"
import * as WS from "ws"
import { WebSocketTransport } from "../src/index.js"

const frame = (n: number, size = 8) => {
  const bytes = new Uint8Array(size)
  new DataView(bytes.buffer).setUint32(0, n)
  return bytes
}
const num = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset).getUint32(0)

const serverTransport = (options: WebSocketTransport.ConnectionOptions = {}) =>
  WebSocketTransport.make({ ...options, listen: { host: "127.0.0.1", port: 0, path: "/sync" } })

/** A server transport, a client transport, and one connection between them (client end, server end). */
const connected = (
  serverOptions: WebSocketTransport.ConnectionOptions = {},
  clientOptions: WebSocketTransport.ConnectionOptions = {}
) =>
  Effect.gen(function*() {
    const server = yield* serverTransport(serverOptions)
    const client = yield* WebSocketTransport.make(clientOptions)
    const url = Option.getOrThrow(server.server.url)
    const accepted = yield* server.transport.listen.pipe(Stream.take(1), Stream.runHead, Effect.fork)
    const clientEnd = yield* client.transport.dial(url)
    const serverEnd = Option.getOrThrow(yield* Fiber.join(accepted))
    return { server, client, url, clientEnd, serverEnd }
  })

const portOf = (server: Server): number => {
  const address = server.address()
  return typeof address === "object" && address !== null ? address.port : 0
}

/** A free port nobody listens on (bound, then released). */
const freePort = Effect.async<number>((resume) => {
  const s = createServer()
  s.listen(0, "127.0.0.1", () => {
    const port = portOf(s)
    s.close(() => resume(Effect.succeed(port)))
  })
})

describe("WebSocketTransport", () => {
  it.scopedLive("frames round-trip both ways", () =>
    Effect.gen(function*() {
      const { clientEnd, serverEnd, server, url } = yield* connected()
      expect(url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/sync$/)
      expect(Option.getOrThrow(server.server.address).port).toBeGreaterThan(0)
      expect(serverEnd.remoteAddress).toMatch(/^127\.0\.0\.1:\d+$/)
      yield* clientEnd.send(Protocol.encode({ _tag: "Ping", n: 1 }))
      const ping = yield* serverEnd.incoming.pipe(Stream.take(1), Stream.runCollect)
      expect(Protocol.decode(Chunk.unsafeGet(ping, 0))).toEqual(
        Protocol.decode(Protocol.encode({ _tag: "Ping", n: 1 }))
      )
      yield* serverEnd.send(Protocol.encode({ _tag: "Pong", n: 1 }))
      const pong = yield* clientEnd.incoming.pipe(Stream.take(1), Stream.runCollect)
      const decoded = Protocol.decode(Chunk.unsafeGet(pong, 0))
      expect(decoded._tag === "Right" && decoded.right).toEqual({ _tag: "Pong", n: 1 })
      expect(clientEnd.id).not.toBe(serverEnd.id)
    }))

  it.scopedLive("10k frames arrive in order, both directions", () =>
    Effect.gen(function*() {
      const { clientEnd, serverEnd } = yield* connected()
      const n = 10_000
      const up = yield* serverEnd.incoming.pipe(Stream.take(n), Stream.map(num), Stream.runCollect, Effect.fork)
      const down = yield* clientEnd.incoming.pipe(Stream.take(n), Stream.map(num), Stream.runCollect, Effect.fork)
      yield* Effect.all([
        Effect.forEach(Array.from({ length: n }, (_, i) => i), (i) => clientEnd.send(frame(i)), { discard: true }),
        Effect.forEach(Array.from({ length: n }, (_, i) => i), (i) => serverEnd.send(frame(i)), { discard: true })
      ], { concurrency: 2 })
      const expected = Array.from({ length: n }, (_, i) => i)
      expect(Chunk.toReadonlyArray(yield* Fiber.join(up))).toEqual(expected)
      expect(Chunk.toReadonlyArray(yield* Fiber.join(down))).toEqual(expected)
    }))

  it.scopedLive("backpressure: a receiver that stops reading stalls the sender; memory stays bounded", () =>
    Effect.gen(function*() {
      const frameBytes = 16 * 1024
      const total = 4000 // 64 MiB: far more than socket buffers hold
      const inboundHighWater = 256 * 1024
      const sendHighWater = 512 * 1024
      const { clientEnd, serverEnd } = yield* connected(
        { inboundHighWaterBytes: inboundHighWater },
        { sendHighWaterBytes: sendHighWater }
      )
      const sent = yield* Ref.make(0)
      const sender = yield* Effect.forEach(
        Array.from({ length: total }, (_, i) => i),
        (i) => Effect.zipRight(clientEnd.send(frame(i, frameBytes)), Ref.update(sent, (k) => k + 1)),
        { discard: true }
      ).pipe(Effect.fork)

      // nobody reads on the server: the sender must stall well before the end
      yield* Effect.sleep("300 millis")
      const s1 = yield* Ref.get(sent)
      yield* Effect.sleep("300 millis")
      const s2 = yield* Ref.get(sent)
      expect(s2).toBe(s1)
      expect(s2).toBeLessThan(total)
      const serverMetrics = yield* serverEnd.metrics
      const clientMetrics = yield* clientEnd.metrics
      expect(serverMetrics.paused).toBe(true)
      // queue bounded by the high-water mark plus one socket read
      expect(serverMetrics.maxQueuedBytes).toBeLessThan(inboundHighWater + 2 * 1024 * 1024)
      expect(clientMetrics.maxBufferedAmount).toBeLessThanOrEqual(sendHighWater + frameBytes)
      console.log(
        `stalled after ${s2}/${total} frames of 16 KiB; receiver queue peak ${serverMetrics.maxQueuedBytes} B, ` +
          `sender bufferedAmount peak ${clientMetrics.maxBufferedAmount} B`
      )

      // reading again releases the sender; everything arrives in order
      const received = yield* serverEnd.incoming.pipe(Stream.take(total), Stream.map(num), Stream.runCollect)
      yield* Fiber.join(sender)
      expect(Chunk.toReadonlyArray(received)).toEqual(Array.from({ length: total }, (_, i) => i))
      expect((yield* serverEnd.metrics).pauses).toBeGreaterThan(0)
    }), { timeout: 60_000 })

  it.scopedLive("a close from the client ends the server's stream, and vice versa", () =>
    Effect.gen(function*() {
      const first = yield* connected()
      const serverSide = yield* first.serverEnd.incoming.pipe(Stream.runCollect, Effect.fork)
      yield* first.clientEnd.send(frame(1))
      yield* first.clientEnd.close("bye")
      expect(Chunk.toReadonlyArray(yield* Fiber.join(serverSide)).map(num)).toEqual([1])
      yield* first.serverEnd.closed
      expect(Exit.isFailure(yield* Effect.exit(first.clientEnd.send(frame(2))))).toBe(true)

      const second = yield* connected()
      const clientSide = yield* second.clientEnd.incoming.pipe(Stream.runCollect, Effect.fork)
      yield* second.serverEnd.send(frame(7))
      yield* second.serverEnd.close()
      expect(Chunk.toReadonlyArray(yield* Fiber.join(clientSide)).map(num)).toEqual([7])
      yield* second.clientEnd.closed
      yield* second.serverEnd.close() // idempotent
    }))

  it.scopedLive("an abnormal drop fails the other side's stream with TransportError", () =>
    Effect.gen(function*() {
      const { clientEnd, serverEnd } = yield* connected()
      const serverSide = yield* Effect.fork(Stream.runDrain(serverEnd.incoming))
      clientEnd.socket.terminate() // no close frame: 1006
      const exit = yield* Fiber.await(serverSide)
      expect(Exit.isFailure(exit)).toBe(true)
      const error = yield* Effect.flip(Fiber.join(serverSide))
      expect(error).toBeInstanceOf(Transport.TransportError)
      expect(error.reason).toContain("1006")
    }))

  it.scopedLive("dialing a closed port fails with TransportError", () =>
    Effect.gen(function*() {
      const port = yield* freePort
      const client = yield* WebSocketTransport.make()
      const error = yield* Effect.flip(client.transport.dial(`ws://127.0.0.1:${port}/sync`))
      expect(error).toBeInstanceOf(Transport.TransportError)
      expect(error.reason).toMatch(/ECONNREFUSED|1006/)
      expect((yield* Effect.flip(client.transport.dial("http://example.com"))).reason).toContain("ws://")
    }))

  it.scopedLive("a dial-only transport does not listen; binding a used port fails", () =>
    Effect.gen(function*() {
      const client = yield* WebSocketTransport.make()
      expect(Chunk.size(yield* Stream.runCollect(client.transport.listen))).toBe(0)
      expect(Option.isNone(client.server.address)).toBe(true)
      const server = yield* serverTransport()
      const port = Option.getOrThrow(server.server.address).port
      const clash = yield* Effect.flip(WebSocketTransport.make({ listen: { host: "127.0.0.1", port } }))
      expect(clash.reason).toContain("EADDRINUSE")
    }))

  it.scopedLive("oversized frames are refused before sending; text frames close the link", () =>
    Effect.gen(function*() {
      const { clientEnd, serverEnd, url } = yield* connected({}, { maxFrameBytes: 1024 })
      const tooBig = yield* Effect.flip(clientEnd.send(new Uint8Array(2048)))
      expect(tooBig.reason).toContain("exceeds")
      yield* clientEnd.send(frame(3))
      expect(Chunk.toReadonlyArray(yield* serverEnd.incoming.pipe(Stream.take(1), Stream.runCollect)).map(num))
        .toEqual([3])

      // a foreign client speaking text
      const server = yield* serverTransport()
      const accepted = yield* server.transport.listen.pipe(Stream.take(1), Stream.runHead, Effect.fork)
      const raw = new WS.WebSocket(Option.getOrThrow(server.server.url))
      yield* Effect.async<void>((resume) => {
        raw.on("open", () => resume(Effect.void))
      })
      raw.send("hello")
      const inbound = Option.getOrThrow(yield* Fiber.join(accepted))
      const failed = yield* Effect.flip(Stream.runDrain(inbound.incoming))
      expect(failed.reason).toContain("1003")
      void url
    }))

  it.scopedLive("attach mode: a plain HTTP server upgrades and hands the socket over", () =>
    Effect.gen(function*() {
      const transport = yield* WebSocketTransport.make({ listen: { attach: true } })
      const wss = new WS.WebSocketServer({ noServer: true })
      const direct = yield* Ref.make<ReadonlyArray<WebSocketTransport.WebSocketConnection>>([])
      const http = createServer((_, res) => res.writeHead(404).end())
      const runFork = Effect.runFork // tests only: the callback bridges into Effect
      http.on("upgrade", (request, socket, head) => {
        const path = request.url ?? ""
        if (!path.startsWith("/sync/")) return socket.destroy()
        wss.handleUpgrade(request, socket, head, (ws) => {
          ws.pause() // until the connection has attached its listeners
          const remote = WebSocketTransport.remoteAddressOf(request)
          if (path === "/sync/direct") {
            // fromWebSocket: the server owns the connection (scoped to the test)
            runFork(Effect.flatMap(
              Scope.extend(WebSocketTransport.fromWebSocket(ws, remote), testScope),
              (connection) => Ref.update(direct, (xs) => [...xs, connection])
            ))
          } else runFork(transport.server.accept(ws, remote))
        })
      })
      const testScope = yield* Effect.scope
      yield* Effect.acquireRelease(
        Effect.async<void>((resume) => {
          http.listen(0, "127.0.0.1", () => resume(Effect.void))
        }),
        () =>
          Effect.async<void>((resume) => {
            http.close(() => resume(Effect.void))
          })
      )
      const port = portOf(http)
      const client = yield* WebSocketTransport.make({ headers: { authorization: "Bearer t" } })

      // handed to `listen`
      const accepted = yield* transport.transport.listen.pipe(Stream.take(1), Stream.runHead, Effect.fork)
      const conn = yield* client.transport.dial(`ws://127.0.0.1:${port}/sync/app1`)
      const inbound = Option.getOrThrow(yield* Fiber.join(accepted))
      yield* conn.send(frame(11))
      expect(Chunk.toReadonlyArray(yield* inbound.incoming.pipe(Stream.take(1), Stream.runCollect)).map(num))
        .toEqual([11])
      yield* inbound.send(frame(12))
      expect(Chunk.toReadonlyArray(yield* conn.incoming.pipe(Stream.take(1), Stream.runCollect)).map(num))
        .toEqual([12])

      // wrapped directly
      const conn2 = yield* client.transport.dial(`ws://127.0.0.1:${port}/sync/direct`)
      yield* conn2.send(frame(21))
      const wrapped = yield* Ref.get(direct).pipe(
        Effect.filterOrFail((xs) => xs.length > 0),
        Effect.retry(Schedule.spaced("5 millis")),
        Effect.map((xs) => xs[0]!)
      )
      expect(Chunk.toReadonlyArray(yield* wrapped.incoming.pipe(Stream.take(1), Stream.runCollect)).map(num))
        .toEqual([21])

      // not an upgrade path: the dial fails
      expect(Exit.isFailure(yield* Effect.exit(client.transport.dial(`ws://127.0.0.1:${port}/other`)))).toBe(true)
    }))

  it.live("reconnectSchedule: exponential, capped, jittered", () =>
    Effect.gen(function*() {
      const delays = yield* Schedule.run(
        Schedule.delays(WebSocketTransport.reconnectSchedule(100, 1000)),
        0,
        Array.from({ length: 8 }, () => undefined)
      )
      const ms = Chunk.toReadonlyArray(delays).map(Duration.toMillis)
      const nominal = [100, 200, 400, 800, 1000, 1000, 1000, 1000]
      ms.forEach((d, i) => {
        expect(d).toBeGreaterThanOrEqual(nominal[i]! * 0.8 - 1)
        expect(d).toBeLessThanOrEqual(nominal[i]! * 1.2 + 1)
      })
    }))

  it.scopedLive("reconnecting: redials after the server drops the link, and while it is down", () =>
    Effect.gen(function*() {
      const server = yield* serverTransport()
      const url = Option.getOrThrow(server.server.url)
      const client = yield* WebSocketTransport.make()
      const errors = yield* Ref.make(0)
      const serverConns = yield* server.transport.listen.pipe(
        Stream.tap((c) => Effect.zipRight(Effect.sleep("50 millis"), c.close("go away"))), // drop each link
        Stream.take(2),
        Stream.runDrain,
        Effect.fork
      )
      const links = yield* WebSocketTransport.reconnecting(client.transport.dial(url), {
        retryIntervalMs: 20,
        onError: () => Ref.update(errors, (n) => n + 1)
      }).pipe(Stream.take(2), Stream.runCollect)
      yield* Fiber.join(serverConns)
      expect(Chunk.size(links)).toBe(2)
      expect(Chunk.unsafeGet(links, 0).id).not.toBe(Chunk.unsafeGet(links, 1).id)

      // a server that is not up yet: failed dials are retried with backoff
      const port = yield* freePort
      const later = yield* WebSocketTransport.reconnecting(
        client.transport.dial(`ws://127.0.0.1:${port}/sync`),
        { retryIntervalMs: 20, onError: () => Ref.update(errors, (n) => n + 1) }
      ).pipe(Stream.take(1), Stream.runCollect, Effect.fork)
      yield* Effect.sleep("150 millis")
      const late = yield* WebSocketTransport.make({ listen: { host: "127.0.0.1", port, path: "/sync" } })
      const got = yield* Fiber.join(later).pipe(Effect.timeout("10 seconds"))
      expect(Chunk.size(got)).toBe(1)
      expect(yield* Ref.get(errors)).toBeGreaterThan(0)
      void late
    }))

  it.live("WebSocketTransport.layer provides Transport and WebSocketServerInfo", () =>
    Effect.gen(function*() {
      const transport = yield* Transport.Transport
      const info = yield* WebSocketTransport.WebSocketServerInfo
      expect(transport.kind).toBe("websocket")
      expect(Option.isSome(info.url)).toBe(true)
    }).pipe(Effect.provide(WebSocketTransport.layer({ listen: { host: "127.0.0.1", port: 0 } }))))
})
