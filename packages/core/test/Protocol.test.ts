import { describe, expect, it } from "@effect/vitest"
import * as Arbitrary from "effect/Arbitrary"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Schema from "effect/Schema"
import { Packr } from "msgpackr"
import * as Document from "../src/Document.js"
import * as Hlc from "../src/Hlc.js"
import * as Json from "../src/Json.js"
import * as Protocol from "../src/Protocol.js"
import * as SiteId from "../src/SiteId.js"
import * as Stamp from "../src/Stamp.js"
import * as VersionVector from "../src/VersionVector.js"

// ------------------------------------------------------------------ helpers

/** Deep equality where NaN equals NaN and -0 equals 0 (msgpack packs -0 as the integer 0). */
const same = (a: unknown, b: unknown): boolean => {
  if (typeof a === "number" && typeof b === "number") return a === b || (a !== a && b !== b)
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => same(x, b[i]))
  if (typeof a === "object" && a !== null) {
    if (typeof b !== "object" || b === null || Array.isArray(b)) return false
    const ka = Object.keys(a)
    const kb = Object.keys(b)
    return ka.length === kb.length &&
      ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && same(Reflect.get(a, k), Reflect.get(b, k)))
  }
  return a === b
}

/** Small deterministic PRNG (xorshift32) for the bounded fuzz loops. */
const prng = (seed: number) => {
  let x = seed >>> 0 || 1
  return () => {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    return x
  }
}

const site = SiteId.unsafeFromString("0123456789abcdef")
const stampAt = (i: number) => Stamp.make(Hlc.encode(i, 0), site)

const fiveFieldDocs = (n: number): Array<Protocol.DeltaEntry> =>
  Array.from({ length: n }, (_, i) => ({
    collection: "items",
    id: JSON.stringify(`doc-${i}`),
    delta: Document.fromJson(
      { title: `Item ${i}`, done: i % 2 === 0, n: i, tags: ["a", "b"], owner: { name: "x" } },
      stampAt(i + 1)
    )
  }))

// ------------------------------------------------------------------ round trip

const roundTrips = <A extends Protocol.Message, I>(name: A["_tag"], schema: Schema.Schema<A, I>) =>
  it(`${name}: decode(encode(m)) = m`, () => {
    FastCheck.assert(
      FastCheck.property(Arbitrary.make(schema), (message) => {
        const decoded = Protocol.decode(Protocol.encode(message))
        if (Either.isLeft(decoded)) throw new Error(`${name}: ${decoded.left.message}`)
        expect(same(decoded.right, message)).toBe(true)
        expect(decoded.right._tag).toBe(name)
      }),
      { numRuns: 200, seed: 42 }
    )
  })

describe("Protocol round trip", () => {
  roundTrips("Hello", Protocol.Hello)
  roundTrips("Welcome", Protocol.Welcome)
  roundTrips("Reject", Protocol.Reject)
  roundTrips("Subscribe", Protocol.Subscribe)
  roundTrips("Summary", Protocol.Summary)
  roundTrips("Deltas", Protocol.Deltas)
  roundTrips("Ack", Protocol.Ack)
  roundTrips("WriteRejected", Protocol.WriteRejected)
  roundTrips("Ping", Protocol.Ping)
  roundTrips("Pong", Protocol.Pong)
  roundTrips("Goodbye", Protocol.Goodbye)

  it("the union arbitrary round-trips too", () => {
    FastCheck.assert(
      FastCheck.property(Arbitrary.make(Protocol.Message), (message) => {
        const decoded = Protocol.decode(Protocol.encode(message))
        expect(Either.isRight(decoded) && same(decoded.right, message)).toBe(true)
      }),
      { numRuns: 500, seed: 7 }
    )
  })

  it("frames are plain msgpack maps any decoder reads", () => {
    const hello = Protocol.Hello.make({
      protocolVersion: Protocol.PROTOCOL_VERSION,
      appIdHash: 0xdeadbeef,
      siteId: site,
      networkId: 7,
      deviceName: "phone",
      relay: true
    })
    const bytes = Protocol.encode(hello)
    expect(bytes[0]! & 0xf0).toBe(0x80) // fixmap header, not a msgpackr record extension
    const plain: unknown = new Packr({ useRecords: false, mapsAsObjects: true }).unpack(bytes)
    expect(plain).toEqual(hello)
  })

  it("a realistic Deltas batch", () => {
    const message: Protocol.Message = {
      _tag: "Deltas",
      batch: 3,
      upToSeq: 120,
      docs: fiveFieldDocs(10).map((d, i) => (i === 0 ? { ...d, base: { [site]: Hlc.encode(0, 1) } } : d)),
      progress: { queryId: "q1", sent: 10, total: 100 }
    }
    const decoded = Protocol.decode(Protocol.encode(message))
    expect(Either.getOrThrow(decoded)).toEqual(message)
  })
})

// ------------------------------------------------------------------ validation

const expectInvalid = (value: unknown, fragment?: string) => {
  const r = Protocol.decode(new Packr({ useRecords: false }).pack(value))
  if (Either.isRight(r)) throw new Error(`accepted ${JSON.stringify(value)}`)
  expect(r.left.reason).toBe("invalid")
  if (fragment !== undefined) expect(r.left.message).toContain(fragment)
}

describe("Protocol validation", () => {
  const stamp = stampAt(1)
  const hello = {
    _tag: "Hello",
    protocolVersion: { major: 1, minor: 0 },
    appIdHash: 1,
    siteId: site,
    networkId: 2,
    deviceName: "d",
    relay: false
  }

  it("rejects excess properties, wrong types and bad numbers", () => {
    expectInvalid({ ...hello, extra: 1 }, "[\"extra\"]: is unexpected")
    expectInvalid({ ...hello, appIdHash: 2 ** 32 }, "appIdHash")
    expectInvalid({ ...hello, siteId: "XYZ" }, "siteId")
    expectInvalid({ ...hello, token: null }, "token")
    expectInvalid({ _tag: "Deltas", batch: 0, docs: [] }, "batch")
    expectInvalid({ _tag: "Deltas", batch: 1.5, docs: [] }, "batch")
    expectInvalid({ _tag: "Nope" }, "unknown message type")
    expectInvalid([1, 2], "expected a message")
    expectInvalid("Hello", "expected a message")
  })

  it("rejects bad document states with a path to the problem", () => {
    const deltas = (delta: unknown) => ({ _tag: "Deltas", batch: 1, docs: [{ collection: "c", id: "1", delta }] })
    expectInvalid(deltas({ f: { a: { r: { s: "nothex" } } } }), "[\"docs\"][0][\"delta\"][\"f\"][\"a\"][\"r\"][\"s\"]")
    expectInvalid(deltas({ f: { a: { r: { s: stamp, v: 1, w: 2 } } } }), "is unexpected")
    expectInvalid(deltas({ f: { a: { x: {} } } }), "is unexpected")
    expectInvalid(deltas({ b: stamp }), "[\"f\"]: is missing")
    expectInvalid(deltas({ f: [] }), "expected fields")
    expectInvalid(deltas({ f: { a: { c: { e: { s: [1, stamp] } } } } }), "counter entry")
    expectInvalid(deltas({ f: { a: { c: { e: { s: [1, stamp, "", 4] } } } } }), "counter entry")
    expectInvalid(deltas({ f: { a: { c: { e: { s: ["1", stamp, ""] } } } } }), "expected a number")
    expectInvalid(deltas({ f: { a: { r: { s: stamp, v: new Date(0) } } } }), "JSON value")
    expectInvalid(deltas({ f: { a: { r: { s: stamp, v: [1, undefined] } } } }), "JSON value")
    expectInvalid(
      { _tag: "Summary", docs: [{ collection: "c", id: "1", vv: { a: "zz" } }] },
      "[\"docs\"][0][\"vv\"][\"a\"]: expected an HLC"
    )
    expectInvalid({ _tag: "Summary", docs: [{ collection: "c", vv: {} }] }, "[\"id\"]: is missing")
  })

  it("never walks a huge bad value to describe it", () => {
    const big = Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`k${i}`, i]))
    const r = Protocol.decode(new Packr({ useRecords: false, variableMapSize: true }).pack({ _tag: "Summary", docs: big }))
    expect(Either.isLeft(r) && r.left.message.length < 300).toBe(true)
  })

  it("deep nesting is a typed error, not a crash", () => {
    // 200k nested single-element arrays inside a Subscribe's args
    const depth = 200_000
    const head = new Packr({ useRecords: false }).pack({
      _tag: "Subscribe",
      queries: [{ id: "q", collection: "c", args: { x: 0 } }]
    })
    // replace the trailing `0` (args.x) by [[[...0...]]]
    const bytes = new Uint8Array(head.length - 1 + depth + 1)
    bytes.set(head.subarray(0, head.length - 1))
    bytes.fill(0x91, head.length - 1, head.length - 1 + depth)
    bytes[bytes.length - 1] = 0
    const r = Protocol.decode(bytes)
    expect(Either.isLeft(r)).toBe(true)
  })

  it("oversized frames are refused before unpacking", () => {
    const r = Protocol.decode(new Uint8Array(Protocol.MAX_FRAME_BYTES + 1))
    expect(Either.isLeft(r) && r.left.reason).toBe("oversized")
  })

  it("the hand-written validators agree with the core Schemas", () => {
    const strict = { onExcessProperty: "error" } as const
    const check = <A, I1, I2>(fast: Schema.Schema<A, I1>, reference: Schema.Schema<A, I2>) => ({
      isFast: Schema.is(fast, strict),
      isRef: Schema.is(reference, strict),
      arb: Arbitrary.make(fast)
    })
    const pairs = [
      check(Protocol.DocState, Document.DocStateSchema),
      check(Protocol.VersionVector, VersionVector.VersionVector),
      check(Protocol.JsonObject, Json.JsonObject)
    ]
    const junk = FastCheck.oneof(
      FastCheck.constant(undefined),
      FastCheck.constant(null),
      FastCheck.boolean(),
      FastCheck.integer(),
      FastCheck.string({ maxLength: 3 }),
      FastCheck.constant(stampAt(5)),
      FastCheck.constant(stampAt(5).slice(0, 16)),
      FastCheck.constant([]),
      FastCheck.constant({}),
      FastCheck.constant([1, stampAt(2), ""]),
      FastCheck.constant({ s: stampAt(3) })
    )
    for (const { arb, isFast, isRef } of pairs) {
      FastCheck.assert(
        FastCheck.property(arb, FastCheck.array(FastCheck.tuple(FastCheck.nat(), FastCheck.nat(4), junk), { maxLength: 3 }), (value, edits) => {
          expect(isFast(value)).toBe(true)
          expect(isRef(value)).toBe(true)
          const mutated = edits.reduce((v: unknown, [at, op, x]) => mutate(v, at, op, x), structuredClone(value))
          expect(isFast(mutated)).toBe(isRef(mutated))
        }),
        { numRuns: 3000, seed: 1 }
      )
    }
  })
})

/** Apply one edit at the `at`-th node (pre-order) of a JSON-like tree. */
const mutate = (root: unknown, at: number, op: number, junk: unknown): unknown => {
  const nodes: Array<object> = []
  const walk = (v: unknown) => {
    if (typeof v === "object" && v !== null) {
      nodes.push(v)
      for (const k of Object.keys(v)) walk(Reflect.get(v, k))
    }
  }
  walk(root)
  if (nodes.length === 0) return junk
  junk = structuredClone(junk)
  const node = nodes[at % nodes.length]!
  const keys = Object.keys(node)
  const key = keys.length > 0 ? keys[at % keys.length]! : "x"
  switch (op) {
    case 0:
      Reflect.set(node, key, junk)
      break
    case 1:
      if (Array.isArray(node)) node.pop()
      else Reflect.deleteProperty(node, key)
      break
    case 2:
      Reflect.set(node, Array.isArray(node) ? String(node.length) : "zz", junk)
      break
    case 3:
      Reflect.set(node, key, [Reflect.get(node, key)])
      break
    default:
      return at % 7 === 0 ? junk : root
  }
  return root
}

// ------------------------------------------------------------------ fuzz: never throws

describe("Protocol fuzz", () => {
  const isTyped = (r: Either.Either<Protocol.Message, Protocol.ProtocolError>) =>
    Either.isRight(r) || ["malformed", "oversized", "invalid"].includes(r.left.reason)

  it("random bytes: always Right or a typed Left (100k cases)", () => {
    const next = prng(12345)
    let lefts = 0
    for (let i = 0; i < 100_000; i++) {
      const bytes = new Uint8Array(next() % 48)
      for (let j = 0; j < bytes.length; j++) bytes[j] = next() & 0xff
      // bias the first byte towards maps so that more cases reach validation
      if (bytes.length > 0 && i % 2 === 0) bytes[0] = 0x80 | (bytes[0]! & 0x0f)
      const r = Protocol.decode(bytes)
      if (!isTyped(r)) throw new Error(`untyped result for ${Array.from(bytes)}`)
      if (Either.isLeft(r)) lefts++
    }
    expect(lefts).toBeGreaterThan(99_000)
  })

  it("mutated valid frames: always Right or a typed Left (100k cases)", () => {
    const samples = FastCheck.sample(Arbitrary.make(Protocol.Message), { numRuns: 300, seed: 99 })
      .map(Protocol.encode)
      .concat([Protocol.encode({ _tag: "Deltas", batch: 1, docs: fiveFieldDocs(3) })])
    const next = prng(777)
    const isMessage = Schema.is(Protocol.Message, { onExcessProperty: "error" })
    let rights = 0
    for (let i = 0; i < 100_000; i++) {
      const original = samples[i % samples.length]!
      let bytes: Uint8Array = Uint8Array.from(original)
      const edits = 1 + (next() % 3)
      for (let e = 0; e < edits; e++) {
        const pos = bytes.length === 0 ? 0 : next() % bytes.length
        switch (next() % 5) {
          case 0: // flip a bit
            if (bytes.length > 0) bytes[pos] = bytes[pos]! ^ (1 << (next() % 8))
            break
          case 1: // random byte
            if (bytes.length > 0) bytes[pos] = next() & 0xff
            break
          case 2: // truncate
            bytes = bytes.subarray(0, pos)
            break
          case 3: { // insert a byte
            const out = new Uint8Array(bytes.length + 1)
            out.set(bytes.subarray(0, pos))
            out[pos] = next() & 0xff
            out.set(bytes.subarray(pos), pos + 1)
            bytes = out
            break
          }
          default: { // delete a byte
            const out = new Uint8Array(Math.max(0, bytes.length - 1))
            out.set(bytes.subarray(0, pos))
            out.set(bytes.subarray(pos + 1), pos)
            bytes = out
          }
        }
      }
      const r = Protocol.decode(bytes)
      if (!isTyped(r)) throw new Error(`untyped result for ${Array.from(bytes)}`)
      if (Either.isRight(r)) {
        rights++
        // whatever is accepted is a valid message and round-trips
        if (!isMessage(r.right) || Either.isLeft(Protocol.decode(Protocol.encode(r.right)))) {
          throw new Error(`accepted an invalid message from ${Array.from(bytes)}`)
        }
      }
    }
    expect(rights).toBeGreaterThan(0)
  })
})

// ------------------------------------------------------------------ negotiation

describe("negotiate", () => {
  it("accepts the same major, picks the lower minor", () => {
    expect(Protocol.negotiate({ protocolVersion: { major: 1, minor: 5 } })).toEqual(
      Either.right({ major: 1, minor: Protocol.PROTOCOL_VERSION.minor })
    )
    // A 1.0 peer gets no groups (they came in 1.1).
    const old = Protocol.negotiate({ protocolVersion: { major: 1, minor: 0 } })
    expect(old).toEqual(Either.right({ major: 1, minor: 0 }))
    expect(Either.getOrThrow(old).minor < Protocol.GROUPS_MINOR).toBe(true)
  })
  it("groups of whole documents: each needs an _id, nothing else is allowed", () => {
    const stamp = "0000019a000000010000000000000001"
    const raw = new Packr({ useRecords: false, variableMapSize: true })
    const deltas = (groups: unknown) => raw.pack({ _tag: "Deltas", batch: 1, docs: [], groups })
    expect(Either.isRight(Protocol.decode(deltas([{ collection: "c", stamp, docs: [{ _id: "a", n: 1 }, { _id: 2 }] }])))).toBe(true)
    for (const bad of [[{ collection: "c", stamp, docs: [{ n: 1 }] }], [{ collection: "c", stamp: "x", docs: [] }], [{ collection: "c", stamp, docs: [], extra: 1 }], [{ stamp, docs: [] }]]) {
      const decoded = Protocol.decode(deltas(bad))
      expect(Either.isLeft(decoded) && decoded.left.reason).toBe("invalid")
    }
    expect(Json.idOfDocument({ _id: "a" })).toBe('"a"')
    expect(Json.idOfDocument({ _id: { b: 1, a: 2 } })).toBe(Json.canonical({ a: 2, b: 1 }))
  })
  it("rejects another major with a reason", () => {
    expect(Protocol.negotiate({ protocolVersion: { major: 9, minor: 0 } })).toEqual(
      Either.left("unsupported protocol version 9.0 (this peer speaks 1.x)")
    )
  })
})

// ------------------------------------------------------------------ framing

describe("length-prefix framing", () => {
  const concat = (parts: ReadonlyArray<Uint8Array>) => {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
    let at = 0
    for (const p of parts) {
      out.set(p, at)
      at += p.length
    }
    return out
  }

  it.prop(
    "any chunking of framed bytes yields the same frames",
    {
      frames: FastCheck.array(FastCheck.uint8Array({ maxLength: 300 }), { maxLength: 20 }),
      cuts: FastCheck.array(FastCheck.nat(), { maxLength: 30 })
    },
    ({ cuts, frames }) => {
      const stream = concat(frames.map(Protocol.frameLength))
      const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b)
      const reader = new Protocol.FrameReader()
      const out: Array<Uint8Array> = []
      let from = 0
      for (const to of [...points, stream.length]) {
        out.push(...Either.getOrThrow(reader.push(stream.subarray(from, to))))
        from = to
      }
      expect(out.map((f) => Array.from(f))).toEqual(frames.map((f) => Array.from(f)))
      expect(reader.buffered).toBe(0)
    },
    { fastCheck: { numRuns: 500, seed: 3 } }
  )

  it("byte by byte", () => {
    const frames = [Protocol.encode({ _tag: "Ping", n: 1 }), new Uint8Array(0), Protocol.encode({ _tag: "Pong", n: 2 })]
    const stream = concat(frames.map(Protocol.frameLength))
    const reader = new Protocol.FrameReader()
    const out: Array<Uint8Array> = []
    for (let i = 0; i < stream.length; i++) out.push(...Either.getOrThrow(reader.push(stream.subarray(i, i + 1))))
    expect(out.map((f) => Array.from(f))).toEqual(frames.map((f) => Array.from(f)))
  })

  it("a length above MAX_FRAME_BYTES is an error, and the reader stays failed", () => {
    const reader = new Protocol.FrameReader()
    const header = new Uint8Array(4)
    new DataView(header.buffer).setUint32(0, Protocol.MAX_FRAME_BYTES + 1)
    const r = reader.push(header)
    expect(Either.isLeft(r) && r.left.reason).toBe("oversized")
    expect(Either.isLeft(reader.push(Protocol.frameLength(new Uint8Array(1))))).toBe(true)
  })
})

// ------------------------------------------------------------------ throughput

describe("decode throughput", () => {
  it("decodes a Deltas batch of 1000 five-field documents at >= 100k docs/s", () => {
    const bytes = Protocol.encode({ _tag: "Deltas", batch: 1, docs: fiveFieldDocs(1000) })
    for (let i = 0; i < 20; i++) Either.getOrThrow(Protocol.decode(bytes)) // warm up
    let best = 0
    for (let round = 0; round < 5; round++) {
      const start = performance.now()
      for (let i = 0; i < 20; i++) Either.getOrThrow(Protocol.decode(bytes))
      best = Math.max(best, (20 * 1000) / ((performance.now() - start) / 1000))
    }
    const schemaDecode = Schema.decodeUnknownSync(Schema.Array(Document.DocStateSchema), { onExcessProperty: "error" })
    const deltas = fiveFieldDocs(1000).map((d) => d.delta)
    const start = performance.now()
    for (let i = 0; i < 5; i++) schemaDecode(deltas)
    const generic = (5 * 1000) / ((performance.now() - start) / 1000)
    console.log(
      `Protocol.decode: ${Math.round(best)} docs/s (unpack + validation, ${bytes.length / 1000} B/doc); ` +
        `generic Schema validation of DocState alone: ${Math.round(generic)} docs/s`
    )
    expect(best).toBeGreaterThan(100_000)
  })
})
