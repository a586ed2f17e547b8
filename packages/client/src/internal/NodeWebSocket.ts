/**
 * A WHATWG `WebSocket` backed by the `ws` package, for Node 20 (which has no
 * global `WebSocket`). `@effect/platform`'s `Socket.makeWebSocket` only needs
 * the standard interface; this adapter implements it on top of `ws` instead
 * of casting `ws` (whose event and `binaryType` types differ) to it.
 *
 * Supported: text and binary frames (`binaryType` "arraybuffer" — the
 * default here — or "blob"), open/message/error/close events through both
 * `addEventListener` and the `on…` properties, `close(code, reason)`,
 * `bufferedAmount`. Sending a `Blob` is not supported (it would have to be
 * read asynchronously and could overtake later frames).
 */
import { WebSocket as WsWebSocket } from "ws"

type WhatwgWebSocket = globalThis.WebSocket
type CloseEventLike = Parameters<NonNullable<WhatwgWebSocket["onclose"]>>[0]
type ErrorEventLike = Parameters<NonNullable<WhatwgWebSocket["onerror"]>>[0]
type SendData = Parameters<WhatwgWebSocket["send"]>[0]

class WsCloseEvent extends Event implements CloseEventLike {
  constructor(readonly code: number, readonly reason: string, readonly wasClean: boolean) {
    super("close")
  }
}

class WsErrorEvent extends Event implements ErrorEventLike {
  readonly filename = ""
  readonly lineno = 0
  readonly colno = 0
  constructor(readonly error: unknown, readonly message: string) {
    super("error")
  }
}

const toText = (data: Buffer | ArrayBuffer | ReadonlyArray<Buffer>): string =>
  Buffer.isBuffer(data)
    ? data.toString("utf8")
    : data instanceof ArrayBuffer
    ? Buffer.from(data).toString("utf8")
    : Buffer.concat(data).toString("utf8")

const toArrayBuffer = (data: Buffer | ArrayBuffer | ReadonlyArray<Buffer>): ArrayBuffer => {
  if (data instanceof ArrayBuffer) return data
  const buf = Buffer.isBuffer(data) ? data : Buffer.concat(data)
  const out = new ArrayBuffer(buf.byteLength)
  new Uint8Array(out).set(buf)
  return out
}

/** See the module documentation. */
export class NodeWebSocket extends EventTarget implements WhatwgWebSocket {
  readonly CONNECTING = 0
  readonly OPEN = 1
  readonly CLOSING = 2
  readonly CLOSED = 3

  binaryType: WhatwgWebSocket["binaryType"] = "arraybuffer"
  onopen: WhatwgWebSocket["onopen"] = null
  onmessage: WhatwgWebSocket["onmessage"] = null
  onerror: WhatwgWebSocket["onerror"] = null
  onclose: WhatwgWebSocket["onclose"] = null

  readonly #ws: WsWebSocket

  constructor(url: string, protocols?: string | Array<string>) {
    super()
    const ws = new WsWebSocket(url, protocols)
    ws.binaryType = "arraybuffer"
    this.#ws = ws
    ws.on("open", () => {
      const event = new Event("open")
      this.dispatchEvent(event)
      this.onopen?.call(this, event)
    })
    ws.on("message", (data, isBinary) => {
      const payload = isBinary
        ? this.binaryType === "blob" ? new Blob([toArrayBuffer(data)]) : toArrayBuffer(data)
        : toText(data)
      const event = new MessageEvent("message", { data: payload })
      this.dispatchEvent(event)
      this.onmessage?.call(this, event)
    })
    ws.on("error", (error) => {
      const event = new WsErrorEvent(error, error.message)
      this.dispatchEvent(event)
      this.onerror?.call(this, event)
    })
    ws.on("close", (code, reason) => {
      const event = new WsCloseEvent(code, reason.toString("utf8"), code !== 1006)
      this.dispatchEvent(event)
      this.onclose?.call(this, event)
    })
  }

  /** Bytes queued by `send` and not yet written to the network. */
  get bufferedAmount(): number {
    return this.#ws.bufferedAmount
  }
  /** Negotiated extensions. */
  get extensions(): string {
    return this.#ws.extensions
  }
  /** Negotiated subprotocol. */
  get protocol(): string {
    return this.#ws.protocol
  }
  /** 0 connecting, 1 open, 2 closing, 3 closed. */
  get readyState(): number {
    return this.#ws.readyState
  }
  /** The URL this socket was opened with. */
  get url(): string {
    return this.#ws.url
  }

  /** Starts the closing handshake (or aborts a connection still opening). */
  close(code?: number, reason?: string): void {
    this.#ws.close(code, reason)
  }

  /** Queues a text (string) or binary frame. */
  send(data: SendData): void {
    if (typeof data === "string") return this.#ws.send(data)
    if (ArrayBuffer.isView(data)) {
      return this.#ws.send(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
    }
    if (data instanceof Blob) throw new TypeError("NodeWebSocket: sending a Blob is not supported")
    return this.#ws.send(new Uint8Array(data))
  }
}
