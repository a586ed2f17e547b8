import { describe, expect, it } from "@effect/vitest"
import { Protocol, SiteId, Transport } from "@shoal/core"
import { MemoryNetwork } from "@shoal/transport-memory"
import { Effect, Either, Exit, Fiber, Layer, Option, Schedule, Scope, Stream } from "effect"
import { Link, SmallPeer, type SmallPeerShape, Sync } from "../src/index.js"
import { pipePeer } from "./util/peers.js"
import { noTransport, pipe } from "./util/pipe.js"

const eventually = <A, E>(check: Effect.Effect<A, E>) =>
  check.pipe(Effect.retry(Schedule.spaced("20 millis").pipe(Schedule.upTo("10 seconds"))))

const query = (p: { peer: SmallPeerShape }, q: string) =>
  Effect.map(p.peer.execute(q), (r) => r.items)

/** A connection end that notes the tag of every frame it sends (Acks with their batch), and optionally ignores `close`. */
const recording = (conn: Transport.Connection, sent: Array<string>, options: { readonly keepOpen?: boolean } = {}): Transport.Connection => ({
  ...conn,
  send: (frame) =>
    Effect.zipRight(
      Effect.sync(() => {
        const m = Protocol.decode(frame)
        if (Either.isRight(m)) sent.push(m.right._tag === "Ack" ? `Ack ${m.right.batch}` : m.right._tag)
      }),
      conn.send(frame)
    ),
  ...(options.keepOpen === true ? { close: () => Effect.void } : {})
})

const has = (p: { peer: SmallPeerShape }, id: string) =>
  eventually(Effect.flatMap(query(p, `SELECT * FROM t WHERE _id = '${id}'`), (items) => items.length === 1 ? Effect.void : Effect.fail("not yet")))

describe("Link over an in-process pipe", () => {
  it.live("syncs a subscription both ways, with concurrent edits merged", () =>
    Effect.scoped(Effect.gen(function*() {
      const a = yield* pipePeer("a")
      const b = yield* pipePeer("b")
      yield* a.peer.execute("INSERT INTO cars DOCUMENTS (:d)", { d: { _id: "1", make: "Volvo", color: "red" } })
      yield* b.sync.registerSubscription("SELECT * FROM cars")
      yield* a.sync.registerSubscription("SELECT * FROM cars")
      const [ca, cb] = yield* pipe
      yield* a.sync.accept(ca)
      yield* b.sync.accept(cb)
      yield* eventually(Effect.flatMap(query(b, "SELECT * FROM cars"), (items) =>
        items.length === 1 ? Effect.void : Effect.fail("not yet")))
      yield* a.peer.execute("UPDATE cars SET color = 'blue' WHERE _id = '1'")
      yield* b.peer.execute("UPDATE cars SET make = 'Saab' WHERE _id = '1'")
      yield* b.peer.execute("INSERT INTO cars DOCUMENTS (:d)", { d: { _id: "2", make: "Fiat" } })
      const expected = [{ _id: "1", make: "Saab", color: "blue" }, { _id: "2", make: "Fiat" }]
      for (const p of [a, b]) {
        yield* eventually(Effect.flatMap(query(p, "SELECT * FROM cars ORDER BY _id"), (items) =>
          JSON.stringify(items) === JSON.stringify(expected) ? Effect.void : Effect.fail(items)))
      }
      const presence = yield* a.sync.presence.current
      expect(presence.remotePeers.map((r) => r.deviceName)).toEqual(["b"])
    })))

  it.live("sends only documents matching the remote's subscription", () =>
    Effect.scoped(Effect.gen(function*() {
      const a = yield* pipePeer("a")
      const b = yield* pipePeer("b")
      yield* a.peer.execute("INSERT INTO t DOCUMENTS (:d)", { d: [{ _id: "1", team: "x" }, { _id: "2", team: "y" }] })
      yield* b.sync.registerSubscription("SELECT * FROM t WHERE team = 'x'")
      const [ca, cb] = yield* pipe
      yield* a.sync.accept(ca)
      yield* b.sync.accept(cb)
      yield* eventually(Effect.flatMap(query(b, "SELECT * FROM t"), (items) => items.length === 1 ? Effect.void : Effect.fail("no")))
      yield* a.peer.execute("INSERT INTO t DOCUMENTS (:d)", { d: [{ _id: "3", team: "x" }, { _id: "4", team: "y" }] })
      yield* eventually(Effect.flatMap(query(b, "SELECT * FROM t ORDER BY _id"), (items) =>
        items.map((d) => d._id).join() === "1,3" ? Effect.void : Effect.fail(items)))
      yield* Effect.sleep("100 millis")
      expect((yield* query(b, "SELECT * FROM t ORDER BY _id")).map((d) => d._id)).toEqual(["1", "3"])
    })))

  it.live("whole documents travel in groups between 1.1 peers, and one by one to a 1.0 peer", () =>
    Effect.scoped(Effect.gen(function*() {
      const docs = Array.from({ length: 300 }, (_, i) => ({ _id: `d${i}`, n: i, text: "some text" }))
      const bytesFor = (sender: Partial<Sync.SyncOptions>, receiver: Partial<Sync.SyncOptions>) =>
        Effect.gen(function*() {
          const a = yield* pipePeer("a", sender)
          const b = yield* pipePeer("b", receiver)
          yield* a.peer.execute("INSERT INTO t DOCUMENTS (:d)", { d: docs })
          yield* b.sync.registerSubscription("SELECT * FROM t")
          yield* a.sync.registerSubscription("SELECT * FROM t")
          const [ca, cb] = yield* pipe
          yield* a.sync.accept(ca)
          yield* b.sync.accept(cb)
          yield* eventually(Effect.flatMap(query(b, "SELECT * FROM t"), (items) => items.length === 300 ? Effect.void : Effect.fail("not yet")))
          // And back: a write on the receiver reaches the sender.
          yield* b.peer.execute("INSERT INTO t DOCUMENTS (:d)", { d: [{ _id: "from-b" }] })
          yield* eventually(Effect.flatMap(query(a, "SELECT * FROM t WHERE _id = 'from-b'"), (items) => items.length === 1 ? Effect.void : Effect.fail("not yet")))
          expect(JSON.stringify(yield* query(b, "SELECT * FROM t WHERE n < 3 ORDER BY n"))).toBe(JSON.stringify(docs.slice(0, 3)))
          return (yield* b.sync.traffic).bytesReceived
        })
      const old = { link: { protocolVersion: { major: 1, minor: 0 } } }
      const grouped = yield* Effect.scoped(bytesFor({}, {}))
      const toOld = yield* Effect.scoped(bytesFor({}, old))
      const fromOld = yield* Effect.scoped(bytesFor(old, {}))
      expect(grouped).toBeLessThan(toOld * 0.7)
      expect(grouped).toBeLessThan(fromOld * 0.7)
    })))

  it.live("a peer of another app or protocol version is rejected", () =>
    Effect.scoped(Effect.gen(function*() {
      const a = yield* pipePeer("a")
      const other = yield* Layer.build(
        Sync.Sync.layer({ appId: "other-app" }).pipe(
          Layer.provideMerge(SmallPeer.layer({ appId: "other-app", persistenceDir: "memory" })),
          Layer.provide(noTransport)
        )
      )
      const o = yield* Effect.provide(Sync.Sync, other)
      const [ca, cb] = yield* pipe
      const [ra, rb] = yield* Effect.all([Effect.either(a.sync.serve(ca)), Effect.either(o.serve(cb))], { concurrency: 2 })
      const reasons = [ra, rb].map((r) => (r._tag === "Left" ? r.left.reason : "ok"))
      expect(reasons).toContain("different app")
      void Link
      void Stream
    })))

  it.live("a peer that only receives moves its cursor for the sender past the merged ops (nothing to send back)", () =>
    Effect.scoped(Effect.gen(function*() {
      const a = yield* pipePeer("a")
      const b = yield* pipePeer("b")
      yield* b.sync.registerSubscription("SELECT * FROM t")
      const [ca, cb] = yield* pipe
      yield* a.sync.accept(ca)
      yield* b.sync.accept(cb)
      for (let i = 0; i < 5; i++) yield* a.peer.execute("INSERT INTO t DOCUMENTS (:d)", { d: { _id: `k${i}` } })
      yield* eventually(Effect.flatMap(query(b, "SELECT * FROM t"), (items) => items.length === 5 ? Effect.void : Effect.fail("not yet")))
      const store = b.peer.replica.store
      yield* eventually(Effect.flatMap(store.getCursor(a.peer.replica.siteId), (cursor) =>
        cursor.ackedSeq === store.lastSeq() ? Effect.void : Effect.fail(cursor)))
      // B wrote nothing of its own: A has every op of B's (they are A's), so the cursor says so.
      expect(store.lastSeq()).toBeGreaterThanOrEqual(1)
    })))

  it.live("the Ack of a small op-stream batch waits; the next batch is acknowledged at once, with it", () =>
    Effect.scoped(Effect.gen(function*() {
      const a = yield* pipePeer("a")
      const b = yield* pipePeer("b", { link: { ackDelay: "1 minute" } })
      yield* a.peer.execute("INSERT INTO t DOCUMENTS (:d)", { d: { _id: "k0" } })
      yield* b.sync.registerSubscription("SELECT * FROM t")
      const sent: Array<string> = []
      const [ca, cb] = yield* pipe
      yield* a.sync.accept(ca)
      yield* b.sync.accept(recording(cb, sent))
      yield* has(b, "k0")
      yield* Effect.sleep("100 millis")
      const acks = () => sent.filter((t) => t.startsWith("Ack"))
      // The initial sync's pages are acknowledged at once.
      const afterScan = acks().length
      expect(afterScan).toBeGreaterThan(0)
      yield* a.peer.execute("INSERT INTO t DOCUMENTS (:d)", { d: { _id: "k1" } })
      yield* has(b, "k1")
      yield* Effect.sleep("100 millis")
      expect(acks().length).toBe(afterScan)
      const store = a.peer.replica.store
      expect((yield* store.getCursor(b.peer.replica.siteId)).ackedSeq).toBeLessThan(store.lastSeq())
      yield* a.peer.execute("INSERT INTO t DOCUMENTS (:d)", { d: { _id: "k2" } })
      yield* has(b, "k2")
      yield* eventually(Effect.suspend(() => acks().length === afterScan + 1 ? Effect.void : Effect.fail(sent)))
      // One Ack for both batches: the sender's cursor passes both writes.
      yield* eventually(Effect.flatMap(store.getCursor(b.peer.replica.siteId), (cursor) =>
        cursor.ackedSeq === store.lastSeq() ? Effect.void : Effect.fail(cursor)))
      expect(acks().length).toBe(afterScan + 1)
    })))

  it.live("an Ack still owed is sent when the link ends", () =>
    Effect.scoped(Effect.gen(function*() {
      const a = yield* pipePeer("a")
      const bScope = yield* Scope.make()
      const b = yield* pipePeer("b", { link: { ackDelay: "1 minute" } }).pipe(Scope.extend(bScope))
      yield* b.sync.registerSubscription("SELECT * FROM t")
      yield* a.peer.execute("INSERT INTO t DOCUMENTS (:d)", { d: { _id: "k0" } })
      const sent: Array<string> = []
      const [ca, cb] = yield* pipe
      yield* a.sync.accept(ca)
      // b's end stays open when b stops, so that what b sends on the way out arrives.
      yield* b.sync.accept(recording(cb, sent, { keepOpen: true }))
      // The initial sync is done (its pages are acknowledged at once) …
      yield* has(b, "k0")
      yield* Effect.sleep("100 millis")
      // … and this write travels in the op stream.
      yield* a.peer.execute("INSERT INTO t DOCUMENTS (:d)", { d: { _id: "k1" } })
      yield* has(b, "k1")
      yield* Effect.sleep("100 millis")
      const store = a.peer.replica.store
      expect((yield* store.getCursor(b.peer.replica.siteId)).ackedSeq).toBeLessThan(store.lastSeq())
      yield* Scope.close(bScope, Exit.void)
      yield* eventually(Effect.flatMap(store.getCursor(b.peer.replica.siteId), (cursor) =>
        cursor.ackedSeq === store.lastSeq() ? Effect.void : Effect.fail(cursor)))
    })))

  it.live("a remote that refused our Hello and closed before our Welcome went out: the link reports its Reject", () =>
    Effect.scoped(Effect.gen(function*() {
      const network = yield* MemoryNetwork.make()
      const here = yield* network.transport("a")
      const there = yield* network.transport("b")
      const accepted = yield* Effect.fork(Stream.runHead(there.listen))
      yield* Effect.yieldNow()
      const ours = yield* here.dial("b")
      const theirs = Option.getOrThrow(yield* Fiber.join(accepted))
      // The remote: reads our Hello, answers with its own and a Reject, and closes at once.
      const remote = Effect.gen(function*() {
        const pull = yield* Transport.reader(theirs)
        yield* pull
        yield* theirs.send(Protocol.encode({
          _tag: "Hello",
          protocolVersion: Protocol.PROTOCOL_VERSION,
          appIdHash: Sync.appIdHash("app"),
          siteId: SiteId.unsafeFromString("00000000000000bb"),
          networkId: 7,
          deviceName: "strict",
          relay: true
        }))
        yield* theirs.send(Protocol.encode({ _tag: "Reject", reason: "invalid token" }))
        yield* theirs.close("refused")
      })
      yield* Effect.fork(remote)
      const a = yield* pipePeer("a")
      const outcome = yield* Effect.either(a.sync.serve(ours))
      expect(Either.isLeft(outcome) && outcome.left._tag === "LinkRejected" ? outcome.left.reason : outcome).toBe("invalid token")
    })))
})
