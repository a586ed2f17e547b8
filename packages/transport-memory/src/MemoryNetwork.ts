/**
 * A simulated network for tests and benchmarks.
 *
 * One `MemoryNetwork` (built once per test with `layer(options)`) holds named
 * nodes; `transport(node)` is a Layer providing the `Transport` of one node
 * (kind `"memory"`, addresses are node names). Connections are duplex frame
 * pipes shaped by per-link conditions:
 *
 * - latency (+ uniform jitter; jitter never reorders a connection's frames),
 * - bandwidth in bytes/s (a frame of n bytes occupies the link n/bandwidth s,
 *   serialized per direction),
 * - loss (probability a frame is silently dropped),
 * - reordering (probability a frame is held back `reorderDelay` extra, so
 *   later frames overtake it).
 *
 * Randomness comes from Effect's `Random` (`options.seed` makes a run
 * reproducible) and time from the `Clock`, so under `TestClock` delivery is
 * deterministic and advances only with `TestClock.adjust`.
 *
 * Faults: `partition(a, b)` / `heal()`, `crash(node)` / `restart(node)`.
 * A cut connection fails `incoming` on both ends with `TransportError`;
 * frames already in the receiver's buffer are still read first.
 *
 * Backpressure: per direction at most `window` frames are in flight and at
 * most `bufferFrames` wait unread at the receiver; beyond that `send`
 * suspends.
 */
import { Transport } from "@shoal/core"
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
import * as PubSub from "effect/PubSub"
import * as Random from "effect/Random"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"

// ------------------------------------------------------------------ public types

/** Conditions of one direction of a link. Unset fields fall back to the network defaults. */
export interface LinkConditions {
  /** One-way delay (default 0). */
  readonly latency?: Duration.DurationInput
  /** Extra one-way delay, uniform in [0, jitter] (default 0). Does not reorder frames. */
  readonly jitter?: Duration.DurationInput
  /** Bytes per second, per direction (default: unlimited). */
  readonly bandwidth?: number
  /** Probability in [0, 1] that a frame is dropped (default 0). */
  readonly loss?: number
  /** Probability in [0, 1] that a frame is delayed by `reorderDelay` so later frames overtake it (default 0). */
  readonly reorder?: number
  /** Extra delay of a reordered frame (default: the latency, at least 5 ms). */
  readonly reorderDelay?: Duration.DurationInput
}

export interface Options {
  /** Conditions of every link without its own (default: instant, lossless). */
  readonly defaults?: LinkConditions
  /** Frames a receiver buffers unread before the sender's `send` suspends (default 256). */
  readonly bufferFrames?: number
  /** Frames in flight per direction (the link's "window", default 256). */
  readonly window?: number
  /** Seed for loss, jitter and reordering (default: the ambient `Random`). */
  readonly seed?: number
}

/** What a node advertises on `discover` (the memory transport's "mDNS"). */
export interface AnnounceOptions {
  readonly networkId: number
  readonly deviceName: string
  readonly appIdHash: number
}

export interface NodeStats {
  readonly framesSent: number
  readonly bytesSent: number
  /** Frames dropped by `loss` on links from this node. */
  readonly framesDropped: number
  readonly framesReceived: number
  readonly bytesReceived: number
  readonly connectionsOpened: number
}

export interface ConnectionInfo {
  readonly id: string
  /** The dialing node. */
  readonly from: string
  readonly to: string
}

export interface MemoryNetworkShape {
  /** The `Transport` of `node`; the node is up while the scope is open. */
  readonly transport: (
    node: string,
    options?: { readonly announce?: AnnounceOptions }
  ) => Effect.Effect<Transport.TransportShape, never, Scope.Scope>
  /** Replace the default conditions (affects frames sent afterwards). */
  readonly setDefaults: (conditions: LinkConditions) => Effect.Effect<void>
  /** Conditions between `a` and `b`, both directions unless `oneWay` (then only a → b). */
  readonly setLink: (
    a: string,
    b: string,
    conditions: LinkConditions,
    options?: { readonly oneWay?: boolean }
  ) => Effect.Effect<void>
  /** Cut every connection between the groups; dials across fail until `heal`. Partitions accumulate. */
  readonly partition: (groupA: Iterable<string>, groupB: Iterable<string>) => Effect.Effect<void>
  /** Remove every partition (cut connections stay cut: redial). */
  readonly heal: Effect.Effect<void>
  /** Cut all connections of `node`, end its `listen`, make dials to and from it fail. */
  readonly crash: (node: string) => Effect.Effect<void>
  /** Bring a crashed node back: it accepts and dials again (run `listen` again). */
  readonly restart: (node: string) => Effect.Effect<void>
  /** Counters per node name. */
  readonly stats: Effect.Effect<Readonly<Record<string, NodeStats>>>
  readonly resetStats: Effect.Effect<void>
  /** Connections currently open (not yet closed or cut). */
  readonly connections: Effect.Effect<ReadonlyArray<ConnectionInfo>>
}

export class MemoryNetwork extends Context.Tag("@shoal/transport-memory/MemoryNetwork")<
  MemoryNetwork,
  MemoryNetworkShape
>() {}

// ------------------------------------------------------------------ internals

interface MutableStats {
  framesSent: number
  bytesSent: number
  framesDropped: number
  framesReceived: number
  bytesReceived: number
  connectionsOpened: number
}

interface NodeState {
  readonly name: string
  /** Live transports of this node (layers built and not released). */
  refs: number
  crashed: boolean
  /** Inbound connections of the current incarnation (set while up). */
  accept: Mailbox.Mailbox<Transport.Connection, Transport.TransportError> | undefined
  announce: AnnounceOptions | undefined
  readonly stats: MutableStats
  readonly links: Set<LinkState>
}

/** A frame in flight, or (frame undefined) the sender's close. */
interface Item {
  readonly frame: Uint8Array | undefined
  readonly at: number
}

/**
 * One direction of a connection. Frames wait in `pending` (in order) until
 * their arrival time and room in the receiver's `inbox`; delivery is driven
 * by a timer per delayed frame and by the receiver reading, never by a
 * polling fiber, so `TestClock.adjust` sees every deadline up front.
 */
interface Pipe {
  readonly from: NodeState
  readonly to: NodeState
  /** The receiver's buffer: what its `incoming` reads (capacity `bufferFrames`). */
  readonly inbox: Mailbox.Mailbox<Uint8Array, Transport.TransportError>
  /** In-order items not yet in the inbox; `head` is the first live index. */
  pending: Array<Item>
  head: number
  /** Frames counted against the window (in `pending`). */
  inFlight: number
  /** Arrival times that already have a timer (frames arriving together share one). */
  readonly timers: Set<number>
  /** Senders waiting for room in the window. */
  waiters: Array<Deferred.Deferred<void>>
  /** When the sender's side of the link is free again (bandwidth), ms. */
  nextFree: number
  /** Arrival of the last in-order frame, ms (jitter never reorders). */
  lastArrival: number
}

/** One end of a connection. */
interface Side {
  readonly node: NodeState
  readonly remote: NodeState
  readonly out: Pipe
  readonly in: Pipe
  closed: boolean
  /** Completed when this end is closed or cut. */
  readonly done: Deferred.Deferred<void>
  /** Failed when this end is closed or cut: wakes suspended senders. */
  readonly stop: Deferred.Deferred<never, Transport.TransportError>
}

interface LinkState {
  readonly id: string
  readonly a: Side
  readonly b: Side
  readonly scope: Scope.CloseableScope
  readonly fibers: FiberSet.FiberSet
  torn: boolean
}

interface Resolved {
  readonly latencyMs: number
  readonly jitterMs: number
  readonly bandwidth: number
  readonly loss: number
  readonly reorder: number
  readonly reorderDelayMs: number
}

const ms = (d: Duration.DurationInput | undefined): number => (d === undefined ? 0 : Duration.toMillis(d))

const pairKey = (a: string, b: string) => (a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`)
const dirKey = (from: string, to: string) => `${from}\u0000${to}`

const otherSide = (link: LinkState, side: Side): Side => (link.a === side ? link.b : link.a)

const emptyStats = (): MutableStats => ({
  framesSent: 0,
  bytesSent: 0,
  framesDropped: 0,
  framesReceived: 0,
  bytesReceived: 0,
  connectionsOpened: 0
})

/** Build a network; it lives as long as the scope. */
export const make = (options: Options = {}): Effect.Effect<MemoryNetworkShape, never, Scope.Scope> =>
  Effect.gen(function*() {
    const networkScope = yield* Effect.scope
    const random = options.seed === undefined ? yield* Effect.random : Random.make(options.seed)
    const bufferFrames = Math.max(1, options.bufferFrames ?? 256)
    const window = Math.max(1, options.window ?? 256)
    let defaults: LinkConditions = options.defaults ?? {}
    const overrides = new Map<string, LinkConditions>()
    const blocked = new Set<string>()
    const nodes = new Map<string, NodeState>()
    const announcements = yield* PubSub.unbounded<Transport.Announcement & { readonly from: string }>()
    let nextId = 0

    // Times are fractional ms internally (bandwidth pacing), but timers wake on whole
    // milliseconds: a fractional sleep would leave `TestClock` at a fractional instant,
    // where `Clock.currentTimeNanos` (spans, logs) throws.
    const nowMs = Clock.currentTimeMillis
    // The same clock, read without an effect on the per-frame paths (send,
    // read): the network's, as it was when the network was made (a
    // `TestClock` in tests).
    const clock = yield* Effect.clock

    // Delivery timers, one per whole millisecond for all links together:
    // frames arriving in the same millisecond share a fiber (a fork per
    // frame was a visible part of a mesh hop). TestClock sees each deadline
    // as soon as a frame is sent.
    const timers = yield* FiberSet.make()
    const dueAt = new Map<number, Array<{ readonly link: LinkState; readonly pipe: Pipe }>>()

    // Conditions per direction, resolved once (durations are parsed) until
    // `setDefaults` / `setLink` change them: every frame sent looks them up.
    const resolved = new Map<string, Resolved>()
    const resolve = (from: string, to: string): Resolved => {
      const key = dirKey(from, to)
      let r = resolved.get(key)
      if (r === undefined) resolved.set(key, (r = resolveNow(key)))
      return r
    }
    const resolveNow = (key: string): Resolved => {
      const c: LinkConditions = { ...defaults, ...overrides.get(key) }
      const latencyMs = ms(c.latency)
      return {
        latencyMs,
        jitterMs: ms(c.jitter),
        bandwidth: c.bandwidth !== undefined && c.bandwidth > 0 ? c.bandwidth : Infinity,
        loss: c.loss ?? 0,
        reorder: c.reorder ?? 0,
        reorderDelayMs: c.reorderDelay !== undefined ? ms(c.reorderDelay) : Math.max(latencyMs, 5)
      }
    }

    const nodeOf = (name: string): NodeState => {
      let node = nodes.get(name)
      if (node === undefined) {
        node = {
          name,
          refs: 0,
          crashed: false,
          accept: undefined,
          announce: undefined,
          stats: emptyStats(),
          links: new Set()
        }
        nodes.set(name, node)
      }
      return node
    }
    const isUp = (node: NodeState) => node.refs > 0 && !node.crashed
    const isBlocked = (a: string, b: string) => blocked.has(pairKey(a, b))
    const error = (address: string, reason: string) => new Transport.TransportError({ address, reason })

    // -------------------------------------------------------------- link teardown

    /** Both ends are closed or cut: stop the delivery fibers (asynchronously, so a fiber may call it). */
    const teardown = (link: LinkState) => {
      if (link.torn) return Effect.void
      link.torn = true
      link.a.node.links.delete(link)
      link.b.node.links.delete(link)
      return Effect.asVoid(Effect.forkIn(Scope.close(link.scope, Exit.void), networkScope))
    }

    /** Mark one end closed. `failure` = cut (its `incoming` fails), otherwise it ends cleanly. */
    const finish = (side: Side, failure: Transport.TransportError | undefined, reason: string) => {
      if (side.closed) return
      side.closed = true
      // nothing more reaches a closed end: forget what is on the way to it
      const inbound = side.in
      release(inbound, inbound.inFlight)
      inbound.pending = []
      inbound.head = 0
      side.in.inbox.unsafeDone(failure === undefined ? Exit.void : Exit.fail(failure))
      Deferred.unsafeDone(side.done, Exit.void)
      Deferred.unsafeDone(side.stop, Exit.fail(failure ?? error(side.remote.name, reason)))
    }

    const cut = (link: LinkState, reason: string) =>
      Effect.suspend(() => {
        finish(link.a, error(link.b.node.name, reason), reason)
        finish(link.b, error(link.a.node.name, reason), reason)
        return teardown(link)
      })

    /** Run a fiber of this link (interrupted at teardown). Forked interruptible whatever the caller's region. */
    const spawn = <A>(link: LinkState, effect: Effect.Effect<A>): Effect.Effect<void> =>
      Effect.asVoid(FiberSet.run(
        link.fibers,
        Effect.interruptible(effect).pipe(
          Effect.catchAllDefect((defect) => Effect.logError(`memory network: ${link.id} delivery failed`, defect))
        )
      ))

    /** `n` frames left the window: wake the waiting senders (they re-check). */
    function release(pipe: Pipe, n: number): void {
      if (n <= 0) return
      pipe.inFlight -= n
      if (pipe.waiters.length > 0) {
        const waiters = pipe.waiters
        pipe.waiters = []
        for (const waiter of waiters) Deferred.unsafeDone(waiter, Exit.void)
      }
    }

    const receiverOf = (link: LinkState, pipe: Pipe): Side => (link.a.in === pipe ? link.a : link.b)

    /** Move every due item at the head of `pending` into the inbox, in order, while there is room. */
    const deliverDueAt = (link: LinkState, pipe: Pipe, now: number): Effect.Effect<void> =>
      Effect.suspend(() => deliverDueNow(link, pipe, now) ?? Effect.void)

    /** `deliverDueAt` as plain code: undefined, or the link's teardown when the close arrived. */
    const deliverDueNow = (link: LinkState, pipe: Pipe, now: number): Effect.Effect<void> | undefined => {
      const receiver = receiverOf(link, pipe)
      let delivered = 0
      while (pipe.head < pipe.pending.length) {
        const item = pipe.pending[pipe.head]!
        if (item.at > now) break
        if (item.frame === undefined) {
          // the sender closed: this end is closed too (like a WebSocket close handshake)
          pipe.head++
          release(pipe, delivered)
          finish(receiver, undefined, "closed by the remote")
          return teardown(link)
        }
        if (!receiver.closed && !pipe.inbox.unsafeOffer(item.frame)) break // receiver's buffer full
        if (!receiver.closed) {
          pipe.to.stats.framesReceived++
          pipe.to.stats.bytesReceived += item.frame.byteLength
        }
        pipe.head++
        delivered++
      }
      if (pipe.head > 1024 && pipe.head * 2 > pipe.pending.length) {
        pipe.pending = pipe.pending.slice(pipe.head)
        pipe.head = 0
      }
      release(pipe, delivered)
      return undefined
    }

    /** Sleep until the clock reads at least `at` (rounded up to whole ms). */
    const sleepUntil = (at: number): Effect.Effect<void> =>
      Effect.flatMap(nowMs, (now) =>
        Math.ceil(at) > now ? Effect.zipRight(Effect.sleep(Duration.millis(Math.ceil(at) - now)), sleepUntil(at)) : Effect.void)

    /** A frame of `size` bytes leaves at `now` or once the link is free (bandwidth): when it is fully sent. */
    const depart = (pipe: Pipe, c: Resolved, now: number, size: number): number => {
      const start = Math.max(now, pipe.nextFree)
      pipe.nextFree = c.bandwidth === Infinity ? start : start + (size * 1000) / c.bandwidth
      pipe.from.stats.framesSent++
      pipe.from.stats.bytesSent += size
      return pipe.nextFree
    }

    /** Queue a frame due at `at`, behind the frames sent before it (jitter never reorders). */
    const enqueueInOrder = (link: LinkState, pipe: Pipe, frame: Uint8Array, at: number, now: number): Effect.Effect<void> => {
      const arrival = Math.max(at, pipe.lastArrival)
      pipe.lastArrival = arrival
      pipe.inFlight++
      return enqueue(link, pipe, { frame, at: arrival }, now)
    }

    /** Queue an in-order item and arrange its delivery. */
    const enqueue = (link: LinkState, pipe: Pipe, item: Item, now: number): Effect.Effect<void> =>
      Effect.suspend(() => {
        pipe.pending.push(item)
        if (item.at <= now) return deliverDueAt(link, pipe, now)
        const wake = Math.ceil(item.at)
        if (pipe.timers.has(wake)) return Effect.void
        pipe.timers.add(wake)
        const pipes = dueAt.get(wake)
        if (pipes !== undefined) {
          pipes.push({ link, pipe })
          return Effect.void
        }
        dueAt.set(wake, [{ link, pipe }])
        return Effect.asVoid(FiberSet.run(
          timers,
          Effect.interruptible(timer(wake)).pipe(
            Effect.catchAllDefect((defect) => Effect.logError("memory network: delivery failed", defect))
          )
        ))
      })

    /**
     * Wake at `at` (whole ms) and deliver on every pipe due then. Re-checks
     * the time: a live timer may fire a little early. Links torn down
     * meanwhile are skipped.
     */
    const timer = (at: number): Effect.Effect<void> =>
      Effect.flatMap(nowMs, (now) => {
        if (at > now) return Effect.zipRight(Effect.sleep(Duration.millis(at - now)), timer(at))
        const pipes = dueAt.get(at) ?? []
        dueAt.delete(at)
        return Effect.forEach(pipes, ({ link, pipe }) => {
          pipe.timers.delete(at)
          return link.torn ? Effect.void : deliverDueAt(link, pipe, now)
        }, { discard: true })
      })

    /** Close one end cleanly: the close travels to the remote behind the frames already sent. */
    const closeSide = (link: LinkState, side: Side): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (side.closed) return Effect.void
        finish(side, undefined, "closed")
        if (otherSide(link, side).closed) return teardown(link)
        const pipe = side.out
        const c = resolve(pipe.from.name, pipe.to.name)
        return Effect.flatMap(nowMs, (now) => {
          const at = Math.max(Math.max(now, pipe.nextFree) + c.latencyMs, pipe.lastArrival)
          pipe.lastArrival = at
          return enqueue(link, pipe, { frame: undefined, at }, now)
        })
      })

    // -------------------------------------------------------------- one end of a connection

    const endpoint = (link: LinkState, side: Side, id: string): Transport.Connection => {
      // The common case as plain code (one effect per frame: a mesh hop sends
      // several): room in the window, and conditions without randomness.
      const send = (frame: Uint8Array): Effect.Effect<void, Transport.TransportError> =>
        Effect.suspend(() => {
          const pipe = side.out
          if (side.closed || pipe.inFlight >= window) return sendInGeneral(frame)
          const c = resolve(pipe.from.name, pipe.to.name)
          if (c.loss > 0 || c.jitterMs > 0 || c.reorder > 0) return sendInGeneral(frame)
          const now = clock.unsafeCurrentTimeMillis()
          return enqueueInOrder(link, pipe, frame, depart(pipe, c, now, frame.byteLength) + c.latencyMs, now)
        })
      const sendInGeneral = (frame: Uint8Array): Effect.Effect<void, Transport.TransportError> =>
        Effect.gen(function*() {
          const pipe = side.out
          // room in the window, unless this end is closed or cut meanwhile
          while (!side.closed && pipe.inFlight >= window) {
            const room = yield* Deferred.make<void>()
            pipe.waiters.push(room)
            yield* Effect.raceFirst(Deferred.await(room), Deferred.await(side.stop))
          }
          if (side.closed) return yield* Deferred.await(side.stop)
          const c = resolve(pipe.from.name, pipe.to.name)
          const now = yield* nowMs
          const size = frame.byteLength
          const departed = depart(pipe, c, now, size)
          if (c.loss > 0 && (yield* random.next) < c.loss) {
            pipe.from.stats.framesDropped++
            return
          }
          const at = departed + c.latencyMs + (c.jitterMs > 0 ? (yield* random.next) * c.jitterMs : 0)
          if (c.reorder > 0 && (yield* random.next) < c.reorder) {
            // held back out of band: later frames overtake it
            const receiver = otherSide(link, side)
            return yield* spawn(
              link,
              sleepUntil(at + c.reorderDelayMs).pipe(
                Effect.zipRight(Effect.suspend(() => {
                  if (receiver.closed) return Effect.void
                  pipe.to.stats.framesReceived++
                  pipe.to.stats.bytesReceived += size
                  return pipe.inbox.unsafeOffer(frame) ? Effect.void : pipe.inbox.offer(frame)
                }))
              )
            )
          }
          yield* enqueueInOrder(link, pipe, frame, at, now)
        })

      const close = (_reason?: string): Effect.Effect<void> => closeSide(link, side)

      return {
        id,
        remoteAddress: side.remote.name,
        send,
        // reading makes room in the inbox: pull in what has arrived meanwhile
        ...Transport.readersOf(side.in.inbox, (chunk) =>
          Effect.suspend(() => {
            const teardown = deliverDueNow(link, side.in, clock.unsafeCurrentTimeMillis())
            return teardown === undefined ? Effect.succeed(chunk) : Effect.as(teardown, chunk)
          })),
        close,
        closed: Deferred.await(side.done)
      }
    }

    const openLink = (from: NodeState, to: NodeState) =>
      Effect.gen(function*() {
        const id = `memory-${nextId++}`
        const pipe = (src: NodeState, dst: NodeState): Effect.Effect<Pipe> =>
          Effect.map(
            Mailbox.make<Uint8Array, Transport.TransportError>({ capacity: bufferFrames, strategy: "suspend" }),
            (inbox): Pipe => ({
              from: src,
              to: dst,
              inbox,
              pending: [],
              head: 0,
              inFlight: 0,
              timers: new Set(),
              waiters: [],
              nextFree: 0,
              lastArrival: 0
            })
          )
        const ab = yield* pipe(from, to)
        const ba = yield* pipe(to, from)
        const side = (node: NodeState, remote: NodeState, out: Pipe, inn: Pipe): Effect.Effect<Side> =>
          Effect.all({
            done: Deferred.make<void>(),
            stop: Deferred.make<never, Transport.TransportError>()
          }).pipe(Effect.map(({ done, stop }) => ({ node, remote, out, in: inn, closed: false, done, stop })))
        const a = yield* side(from, to, ab, ba)
        const b = yield* side(to, from, ba, ab)
        const scope = yield* Scope.fork(networkScope, ExecutionStrategy.sequential)
        const fibers = yield* FiberSet.make().pipe(Scope.extend(scope))
        const link: LinkState = { id, a, b, scope, fibers, torn: false }
        from.links.add(link)
        to.links.add(link)
        from.stats.connectionsOpened++
        to.stats.connectionsOpened++
        const dialer = endpoint(link, a, `${id}/${from.name}`)
        const acceptor = endpoint(link, b, `${id}/${to.name}`)
        return { link, dialer, acceptor }
      })

    // -------------------------------------------------------------- transport of one node

    const dial = (self: NodeState) => (address: string) =>
      Effect.gen(function*() {
        const reachable = (): Transport.TransportError | undefined => {
          const target = nodes.get(address)
          if (!isUp(self)) return error(address, `${self.name} is down`)
          if (target === undefined || !isUp(target)) return error(address, "connection refused: node not running")
          if (isBlocked(self.name, address)) return error(address, "unreachable: network partition")
          return undefined
        }
        const before = reachable()
        if (before !== undefined) return yield* Effect.fail(before)
        // the handshake takes a round trip
        const rtt = resolve(self.name, address).latencyMs + resolve(address, self.name).latencyMs
        if (rtt > 0) yield* Effect.sleep(Duration.millis(Math.ceil(rtt)))
        const after = reachable()
        if (after !== undefined) return yield* Effect.fail(after)
        const target = nodeOf(address)
        return yield* Effect.acquireRelease(
          Effect.gen(function*() {
            const { acceptor, dialer, link } = yield* openLink(self, target)
            if (target.accept === undefined || !target.accept.unsafeOffer(acceptor)) {
              yield* cut(link, "connection refused: not accepting")
              return yield* Effect.fail(error(address, "connection refused: not accepting"))
            }
            return dialer
          }),
          (connection) => connection.close()
        )
      })

    const stopNode = (node: NodeState, how: "crash" | "stop") =>
      Effect.gen(function*() {
        node.accept?.unsafeDone(Exit.void)
        for (const link of [...node.links]) {
          // a crash cuts; a clean shutdown closes this node's ends (the remote sees a clean close)
          yield* how === "crash" ? cut(link, `${node.name} crashed`) : closeSide(link, link.a.node === node ? link.a : link.b)
        }
      })

    const freshAccept = (node: NodeState) =>
      Effect.map(Mailbox.make<Transport.Connection, Transport.TransportError>(), (m) => {
        node.accept = m
      })

    const publishAnnouncement = (node: NodeState) =>
      node.announce === undefined || !isUp(node)
        ? Effect.void
        : Effect.asVoid(PubSub.publish(announcements, { address: node.name, from: node.name, ...node.announce }))

    const transport = (name: string, transportOptions?: { readonly announce?: AnnounceOptions }) =>
      Effect.gen(function*() {
        const self = yield* Effect.acquireRelease(
          Effect.gen(function*() {
            const node = nodeOf(name)
            node.refs++
            if (node.refs === 1 && !node.crashed) yield* freshAccept(node)
            if (transportOptions?.announce !== undefined) node.announce = transportOptions.announce
            yield* publishAnnouncement(node)
            return node
          }),
          (node) =>
            Effect.suspend(() => {
              node.refs--
              return node.refs === 0 ? stopNode(node, "stop") : Effect.void
            })
        )
        const discover: Stream.Stream<Transport.Announcement> = Stream.unwrapScoped(
          Effect.gen(function*() {
            const subscription = yield* PubSub.subscribe(announcements)
            const current = [...nodes.values()].flatMap((n) =>
              n.announce !== undefined && isUp(n) ? [{ address: n.name, from: n.name, ...n.announce }] : []
            )
            return Stream.concat(Stream.fromIterable(current), Stream.fromQueue(subscription))
          })
        ).pipe(
          Stream.filter((a) => a.from !== self.name && isUp(self) && !isBlocked(self.name, a.from)),
          Stream.map(({ address, appIdHash, deviceName, networkId }) => ({ address, appIdHash, deviceName, networkId }))
        )
        const shape: Transport.TransportShape = {
          kind: "memory",
          dial: dial(self),
          listen: Stream.unwrap(
            Effect.sync(() => (isUp(self) && self.accept !== undefined ? Mailbox.toStream(self.accept) : Stream.empty))
          ),
          discover
        }
        return shape
      })

    // -------------------------------------------------------------- control

    const shape: MemoryNetworkShape = {
      transport,
      setDefaults: (conditions) =>
        Effect.sync(() => {
          defaults = conditions
          resolved.clear()
        }),
      setLink: (a, b, conditions, linkOptions) =>
        Effect.sync(() => {
          overrides.set(dirKey(a, b), conditions)
          if (linkOptions?.oneWay !== true) overrides.set(dirKey(b, a), conditions)
          resolved.clear()
        }),
      partition: (groupA, groupB) =>
        Effect.gen(function*() {
          const left = [...groupA]
          const right = [...groupB]
          for (const a of left) for (const b of right) if (a !== b) blocked.add(pairKey(a, b))
          for (const node of nodes.values()) {
            for (const link of [...node.links]) {
              if (isBlocked(link.a.node.name, link.b.node.name)) yield* cut(link, "network partition")
            }
          }
        }),
      heal: Effect.sync(() => blocked.clear()),
      crash: (name) =>
        Effect.suspend(() => {
          const node = nodeOf(name)
          if (node.crashed) return Effect.void
          node.crashed = true
          return stopNode(node, "crash")
        }),
      restart: (name) =>
        Effect.gen(function*() {
          const node = nodeOf(name)
          if (!node.crashed) return
          node.crashed = false
          if (node.refs > 0) yield* freshAccept(node)
          yield* publishAnnouncement(node)
        }),
      stats: Effect.sync(() => {
        const out: Record<string, NodeStats> = {}
        for (const [name, node] of nodes) out[name] = { ...node.stats }
        return out
      }),
      resetStats: Effect.sync(() => {
        for (const node of nodes.values()) Object.assign(node.stats, emptyStats())
      }),
      connections: Effect.sync(() => {
        const seen = new Set<LinkState>()
        for (const node of nodes.values()) for (const link of node.links) seen.add(link)
        return [...seen]
          .filter((l) => !l.a.closed || !l.b.closed)
          .map((l) => ({ id: l.id, from: l.a.node.name, to: l.b.node.name }))
      })
    }
    return shape
  })

/** The network, for one test (or bench run). */
export const layer = (options?: Options): Layer.Layer<MemoryNetwork> => Layer.scoped(MemoryNetwork, make(options))

/** The `Transport` of node `node` on the network in context. */
export const transport = (
  node: string,
  options?: { readonly announce?: AnnounceOptions }
): Layer.Layer<Transport.Transport, never, MemoryNetwork> =>
  Layer.scoped(Transport.Transport, Effect.flatMap(MemoryNetwork, (network) => network.transport(node, options)))
