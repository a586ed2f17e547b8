/**
 * The contract every transport implements (memory, WebSocket, LAN, BLE …).
 *
 * A transport moves *frames* (opaque byte arrays, one wire message each)
 * between two peers and knows nothing about sync: the peer's Link encodes
 * and decodes them with `Protocol`. Types and the service tag only: the
 * implementations live in the `transport-*` packages.
 *
 * Guarantees a `Connection` gives:
 * - frames arrive whole, once, in the order they were sent (unless a
 *   simulated network is told to drop or reorder them);
 * - `send` applies backpressure: it suspends while the remote (or the link)
 *   is slow, so a fast producer cannot buffer without bound;
 * - `incoming` ends when the connection closes cleanly (either side called
 *   `close`) and fails with `TransportError` when it is cut (reset, crash,
 *   partition, protocol error);
 * - `close` is idempotent, and every connection is closed at the latest
 *   when the scope it was dialed (or the transport was built) in closes.
 */
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Mailbox from "effect/Mailbox"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"

/** A connection could not be made, or broke. `address` names the remote end. */
export class TransportError extends Schema.TaggedError<TransportError>()("TransportError", {
  address: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.address}: ${this.reason}`
  }
}

/** One framed duplex link to a remote peer. */
export interface Connection {
  /** Unique per connection (within the process). */
  readonly id: string
  /** Human-readable address of the remote end (for logs and Presence). */
  readonly remoteAddress: string
  /**
   * Send one frame. Suspends while the remote is slow (backpressure); fails
   * with `TransportError` once the connection is closed or cut. Concurrent
   * callers are served in call order.
   */
  readonly send: (frame: Uint8Array) => Effect.Effect<void, TransportError>
  /**
   * The frames the remote sends, one element per frame, in order. Ends when
   * the connection closes cleanly, fails when it is cut. Consume it once:
   * it is a single queue, not a broadcast.
   */
  readonly incoming: Stream.Stream<Uint8Array, TransportError>
  /**
   * Optional fast path to the same frames as `incoming`: those that arrived
   * since the last call (at least one), in order; fails with `None` at a
   * clean end and `Some(error)` when cut. Transports backed by a queue
   * provide it so that a reader pays no stream step per read (a per-frame
   * cost in a mesh). Read one or the other, never both; see {@link reader}.
   */
  readonly pull?: Effect.Effect<Chunk.Chunk<Uint8Array>, Option.Option<TransportError>>
  /** Close the connection (frames already sent are still delivered). Idempotent. */
  readonly close: (reason?: string) => Effect.Effect<void>
  /** Completes when the connection is closed by either side, or cut. */
  readonly closed: Effect.Effect<void>
}

/**
 * `incoming` and `pull` of a connection whose inbound frames wait in a
 * mailbox: `afterRead` runs on each chunk read (accounting, flow control).
 */
export const readersOf = (
  inbox: Mailbox.ReadonlyMailbox<Uint8Array, TransportError>,
  afterRead: (chunk: Chunk.Chunk<Uint8Array>) => Effect.Effect<Chunk.Chunk<Uint8Array>>
): Required<Pick<Connection, "incoming" | "pull">> => ({
  incoming: Mailbox.toStream(inbox).pipe(Stream.mapChunksEffect(afterRead)),
  // `takeAll` gives an empty chunk only once the mailbox is done.
  pull: Effect.flatMap(
    Effect.mapError(inbox.takeAll, Option.some),
    ([chunk]) => (Chunk.isEmpty(chunk) ? Effect.fail(Option.none()) : afterRead(chunk))
  )
})

/** How to read a connection's frames chunk by chunk: its `pull`, else a pull on its `incoming`. */
export const reader = (
  connection: Connection
): Effect.Effect<Effect.Effect<Chunk.Chunk<Uint8Array>, Option.Option<TransportError>>, never, Scope.Scope> =>
  connection.pull !== undefined ? Effect.succeed(connection.pull) : Stream.toPull(connection.incoming)

/** What a peer advertises on a transport with discovery (LAN mDNS, BLE). */
export interface Announcement {
  /** Where to dial the announcing peer on this transport. */
  readonly address: string
  /** The announcing peer's random 32-bit network id (drops duplicate links). */
  readonly networkId: number
  readonly deviceName: string
  /** 32-bit hash of the app id: peers of other apps are ignored. */
  readonly appIdHash: number
}

export interface TransportShape {
  /** `"memory"`, `"websocket"`, `"lan"`, `"ble"` … */
  readonly kind: string
  /**
   * Open a connection to `address` (its meaning is the transport's: a node
   * name, a `ws://` URL …). Closing the scope closes the connection.
   */
  readonly dial: (address: string) => Effect.Effect<Connection, TransportError, Scope.Scope>
  /**
   * Inbound connections. Empty when the transport does not listen. Each
   * accepted connection belongs to the consumer, who closes it; the rest are
   * closed when the transport's layer is released.
   */
  readonly listen: Stream.Stream<Connection, TransportError>
  /** Peers announcing themselves. Empty for transports without discovery. */
  readonly discover: Stream.Stream<Announcement>
}

export class Transport extends Context.Tag("@shoal/core/Transport")<Transport, TransportShape>() {}
