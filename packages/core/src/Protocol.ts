/**
 * The peer-to-peer sync protocol: wire messages and their codec.
 *
 * Every message is a `Schema.TaggedStruct`; `Message` is their union. A
 * frame is one message packed as standard MessagePack (plain maps, no
 * msgpackr records: any msgpack library decodes it). Decoding never throws:
 * it returns the message or a typed `ProtocolError`, and a peer that gets one
 * closes that link and nothing else.
 *
 * Conversation (see docs/protocol.md for the sync engine's side):
 *
 *     dialer                    listener
 *     Hello ─────────────────▶
 *           ◀───────────────── Welcome | Reject (then close)
 *     Subscribe / Summary / Deltas / Ack / WriteRejected / Ping / Pong, both ways
 *     Goodbye (then close)
 *
 * Hot path: initial sync decodes `Deltas` frames of thousands of documents.
 * Generic Schema validation of a document state measured ≈ 60k docs/s, so
 * document states, version vectors and JSON objects are checked by
 * hand-written validators (`DocState`, `VersionVector`, `JsonObject` below)
 * that accept exactly what `Document.DocStateSchema`, `VersionVector.VersionVector`
 * and `Json.JsonObject` accept, except that objects must be plain (msgpack
 * maps; no Date, Map or class instances). They are `Schema.declare`d, so
 * every message is still a Schema (types, `Arbitrary`, `is`, encode).
 *
 * Byte-stream transports (TCP, BLE) delimit frames with `frameLength` and
 * `FrameReader` (4-byte big-endian length prefix).
 */
import * as Either from "effect/Either"
import type * as Arbitrary from "effect/Arbitrary"
import type * as FastCheck from "effect/FastCheck"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type * as AST from "effect/SchemaAST"
import { Packr } from "msgpackr"
import { type Counter, type CounterEntry, type DocState as DocStateType, type MapNode, type Register, type Slot, versionVector } from "./Document.js"
import * as Hlc from "./Hlc.js"
import type { Json, JsonObject as JsonObjectType } from "./Json.js"
import { SiteId } from "./SiteId.js"
import * as Stamp from "./Stamp.js"
import { ofStamp, type VersionVector as VersionVectorType } from "./VersionVector.js"

// ------------------------------------------------------------------ limits, version

/** Largest frame a peer accepts (documents go up to 5 MiB). Checked before unpacking. */
export const MAX_FRAME_BYTES = 16 * 1024 * 1024

export const ProtocolVersion = Schema.Struct({ major: Schema.NonNegativeInt, minor: Schema.NonNegativeInt })
export type ProtocolVersion = typeof ProtocolVersion.Type

/** The version this peer speaks. Same major = compatible; minor = optional features. */
export const PROTOCOL_VERSION: ProtocolVersion = { major: 1, minor: 1 }

/** The minor version from which `Deltas.groups` may be sent. */
export const GROUPS_MINOR = 1

// ------------------------------------------------------------------ errors

/**
 * A frame that cannot be a message: not msgpack (`malformed`), larger than
 * `MAX_FRAME_BYTES` (`oversized`), or msgpack of the wrong shape (`invalid`).
 */
export class ProtocolError extends Schema.TaggedError<ProtocolError>()("ProtocolError", {
  reason: Schema.Literal("malformed", "oversized", "invalid"),
  message: Schema.String
}) {}

// ------------------------------------------------------------------ fast structural validators

const STAMP = /^[0-9a-f]{32}$/
const HLC = /^[0-9a-f]{16}$/

/** The fast-check module as Schema's arbitrary annotations receive it. */
type FC = Parameters<Arbitrary.LazyArbitrary<unknown>>[0]

type PlainObject = { readonly [key: string]: unknown }

/** A msgpack map as msgpackr decodes it: an object with the plain (or null) prototype. */
const isPlainObject = (u: unknown): u is PlainObject => {
  if (typeof u !== "object" || u === null) return false
  const proto: unknown = Object.getPrototypeOf(u)
  return proto === Object.prototype || proto === null
}

/** Collects where and why validation failed; the path is built while unwinding (free on success). */
class Failure {
  path: Array<string | number> = []
  reason = ""
  fail(reason: string): false {
    this.reason = reason
    this.path = []
    return false
  }
  at(key: string | number): false {
    this.path.unshift(key)
    return false
  }
  describe(): string {
    return this.path.length === 0 ? this.reason : `${formatPath(this.path)}: ${this.reason}`
  }
}

const formatPath = (path: ReadonlyArray<PropertyKey>): string =>
  path.map((k) => `[${typeof k === "string" ? JSON.stringify(truncate(k, 40)) : String(k)}]`).join("")

/** `path: message`, or `path…` when the message starts with a deeper path of its own. */
const atPath = (path: ReadonlyArray<PropertyKey>, message: string): string =>
  path.length === 0 ? message : message.startsWith("[") ? `${formatPath(path)}${message}` : `${formatPath(path)}: ${message}`

const truncate = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n)}…` : s)

/** A short, bounded description of an untrusted value (never walks it). */
const preview = (u: unknown): string => {
  if (typeof u === "string") return JSON.stringify(truncate(u, 40))
  if (typeof u === "number" || typeof u === "boolean" || typeof u === "bigint" || u == null) return String(u)
  if (Array.isArray(u)) return `an array of ${u.length}`
  if (isPlainObject(u)) {
    const keys = Object.keys(u)
    return `{${keys.slice(0, 5).map((k) => JSON.stringify(truncate(k, 20))).join(",")}${keys.length > 5 ? ",…" : ""}}`
  }
  if (typeof u === "object") return `an instance of ${u.constructor?.name ?? "an unknown class"}`
  return typeof u
}

const isStamp = (u: unknown): u is Stamp.Stamp => typeof u === "string" && u.length === 32 && STAMP.test(u)
const isHlc = (u: unknown): u is Hlc.Hlc => typeof u === "string" && u.length === 16 && HLC.test(u)

const isJson = (u: unknown, f: Failure): u is Json => {
  switch (typeof u) {
    case "string":
    case "number":
    case "boolean":
      return true
    case "object": {
      if (u === null) return true
      if (Array.isArray(u)) {
        for (let i = 0; i < u.length; i++) if (!isJson(u[i], f)) return f.at(i)
        return true
      }
      if (!isPlainObject(u)) return f.fail(`expected a JSON value, got ${preview(u)}`)
      for (const key in u) if (!isJson(u[key], f)) return f.at(key)
      return true
    }
    default:
      return f.fail(`expected a JSON value, got ${preview(u)}`)
  }
}

const isJsonObject = (u: unknown, f: Failure): u is JsonObjectType => {
  if (!isPlainObject(u)) return f.fail(`expected a JSON object, got ${preview(u)}`)
  for (const key in u) if (!isJson(u[key], f)) return f.at(key)
  return true
}

const isVersionVector = (u: unknown, f: Failure): u is VersionVectorType => {
  if (!isPlainObject(u)) return f.fail(`expected a version vector, got ${preview(u)}`)
  for (const site in u) {
    if (!isHlc(u[site])) return f.fail(`expected an HLC (16 hex digits), got ${preview(u[site])}`) || f.at(site)
  }
  return true
}

const isRegister = (u: unknown, f: Failure): u is Register => {
  if (!isPlainObject(u)) return f.fail(`expected a register {s, v?}, got ${preview(u)}`)
  let hasStamp = false
  for (const key in u) {
    const value = u[key]
    if (key === "s") {
      if (!isStamp(value)) return f.fail(`expected a stamp (32 hex digits), got ${preview(value)}`) || f.at("s")
      hasStamp = true
    } else if (key === "v") {
      if (!isJson(value, f)) return f.at("v")
    } else return f.fail("is unexpected") || f.at(key)
  }
  return hasStamp || (f.fail("is missing") || f.at("s"))
}

const isCounterEntry = (u: unknown, f: Failure): u is CounterEntry => {
  if (!Array.isArray(u) || u.length !== 3) return f.fail(`expected a counter entry [sum, stamp, epoch], got ${preview(u)}`)
  if (typeof u[0] !== "number") return f.fail(`expected a number, got ${preview(u[0])}`) || f.at(0)
  if (!isStamp(u[1])) return f.fail(`expected a stamp (32 hex digits), got ${preview(u[1])}`) || f.at(1)
  if (u[2] !== "" && !isStamp(u[2])) return f.fail(`expected a stamp or "", got ${preview(u[2])}`) || f.at(2)
  return true
}

const isCounter = (u: unknown, f: Failure): u is Counter => {
  if (!isPlainObject(u)) return f.fail(`expected a counter {z?, e}, got ${preview(u)}`)
  let hasEntries = false
  for (const key in u) {
    const value = u[key]
    if (key === "z") {
      if (!isStamp(value)) return f.fail(`expected a stamp (32 hex digits), got ${preview(value)}`) || f.at("z")
    } else if (key === "e") {
      if (!isPlainObject(value)) return f.fail(`expected counter entries, got ${preview(value)}`) || f.at("e")
      for (const site in value) if (!isCounterEntry(value[site], f)) return f.at(site) || f.at("e")
      hasEntries = true
    } else return f.fail("is unexpected") || f.at(key)
  }
  return hasEntries || (f.fail("is missing") || f.at("e"))
}

const isSlot = (u: unknown, f: Failure): u is Slot => {
  if (!isPlainObject(u)) return f.fail(`expected a slot {r?, m?, c?}, got ${preview(u)}`)
  for (const key in u) {
    const value = u[key]
    if (key === "r") {
      if (!isRegister(value, f)) return f.at("r")
    } else if (key === "m") {
      if (!isMapNode(value, f)) return f.at("m")
    } else if (key === "c") {
      if (!isCounter(value, f)) return f.at("c")
    } else return f.fail("is unexpected") || f.at(key)
  }
  return true
}

const isMapNode = (u: unknown, f: Failure): u is MapNode => {
  if (!isPlainObject(u)) return f.fail(`expected a map {b?, f}, got ${preview(u)}`)
  let hasFields = false
  for (const key in u) {
    const value = u[key]
    if (key === "b") {
      if (!isStamp(value)) return f.fail(`expected a stamp (32 hex digits), got ${preview(value)}`) || f.at("b")
    } else if (key === "f") {
      if (!isPlainObject(value)) return f.fail(`expected fields, got ${preview(value)}`) || f.at("f")
      for (const field in value) if (!isSlot(value[field], f)) return f.at(field) || f.at("f")
      hasFields = true
    } else return f.fail("is unexpected") || f.at(key)
  }
  return hasFields || (f.fail("is missing") || f.at("f"))
}

const isSummaryEntry = (u: unknown, f: Failure): u is SummaryEntry => {
  if (!isPlainObject(u)) return f.fail(`expected {collection, id, vv, evicted?}, got ${preview(u)}`)
  let required = 0
  for (const key in u) {
    const value = u[key]
    switch (key) {
      case "collection":
      case "id":
        if (typeof value !== "string") return f.fail(`expected a string, got ${preview(value)}`) || f.at(key)
        required++
        break
      case "vv":
        if (!isVersionVector(value, f)) return f.at(key)
        required++
        break
      case "evicted":
        if (typeof value !== "boolean") return f.fail(`expected a boolean, got ${preview(value)}`) || f.at(key)
        break
      default:
        return f.fail("is unexpected") || f.at(key)
    }
  }
  return required === 3 || missing(u, ["collection", "id", "vv"], f)
}

const isDeltaEntry = (u: unknown, f: Failure): u is DeltaEntry => {
  if (!isPlainObject(u)) return f.fail(`expected {collection, id, base?, delta}, got ${preview(u)}`)
  let required = 0
  let body = 0
  for (const key in u) {
    const value = u[key]
    switch (key) {
      case "collection":
      case "id":
        if (typeof value !== "string") return f.fail(`expected a string, got ${preview(value)}`) || f.at(key)
        required++
        break
      case "delta":
        if (!isMapNode(value, f)) return f.at(key)
        body++
        break
      case "put":
        if (!isJsonObject(value, f)) return f.at(key)
        body++
        break
      case "stamp":
        if (!isStamp(value)) return f.fail(`expected a stamp, got ${preview(value)}`) || f.at(key)
        break
      case "base":
      case "vv":
        if (!isVersionVector(value, f)) return f.at(key)
        break
      default:
        return f.fail("is unexpected") || f.at(key)
    }
  }
  if (required !== 2) return missing(u, ["collection", "id"], f)
  // Exactly one body: a delta, or a whole document with the stamp it was written at.
  if (body !== 1) return f.fail("expected exactly one of delta or put")
  return "put" in u === "stamp" in u || f.fail("put and stamp go together")
}

const missing = (u: PlainObject, keys: ReadonlyArray<string>, f: Failure): false => {
  for (const key of keys) if (!(key in u)) return f.fail("is missing") || f.at(key)
  return f.fail("is missing")
}

const declareFast = <A>(
  identifier: string,
  guard: (u: unknown, f: Failure) => u is A,
  arbitrary: (fc: FC) => FastCheck.Arbitrary<A>
) => {
  const check = () => (input: unknown, _options: AST.ParseOptions, ast: AST.Declaration) => {
    const f = new Failure()
    return guard(input, f) ? ParseResult.succeed(input) : ParseResult.fail(new ParseResult.Type(ast, input, f.describe()))
  }
  return Schema.declare<A, A, readonly []>([], { decode: check, encode: check }, {
    identifier,
    arbitrary: () => arbitrary
  })
}

// ------------------------------------------------------------------ arbitraries for the declared schemas

const hexArb = (fc: FC, n: number) =>
  fc.array(fc.constantFrom(..."0123456789abcdef"), { minLength: n, maxLength: n }).map((cs) => cs.join(""))

// "__proto__" keys are renamed by msgpackr on decode ("__proto_"), so a key never round-trips as that.
const keyArb = (fc: FC) => fc.string({ maxLength: 8 }).filter((k) => k !== "__proto__")

const jsonArb = (fc: FC, depth: number): FastCheck.Arbitrary<Json> => {
  const leaf: FastCheck.Arbitrary<Json> = fc.oneof(
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Object.is(n, -0)),
    fc.string({ maxLength: 12 })
  )
  if (depth <= 0) return leaf
  const inner = jsonArb(fc, depth - 1)
  return fc.oneof(
    { arbitrary: leaf, weight: 4 },
    { arbitrary: fc.array(inner, { maxLength: 4 }), weight: 1 },
    { arbitrary: jsonObjectArb(fc, inner), weight: 1 }
  )
}

const jsonObjectArb = (fc: FC, value: FastCheck.Arbitrary<Json>): FastCheck.Arbitrary<JsonObjectType> =>
  fc.uniqueArray(fc.tuple(keyArb(fc), value), { maxLength: 4, selector: ([k]) => k }).map((entries) => {
    const out: { [key: string]: Json } = {}
    for (const [k, v] of entries) out[k] = v
    return out
  })

const recordOf = <A>(
  fc: FC,
  key: FastCheck.Arbitrary<string>,
  value: FastCheck.Arbitrary<A>,
  maxLength: number
): FastCheck.Arbitrary<{ readonly [key: string]: A }> =>
  fc.uniqueArray(fc.tuple(key, value), { maxLength, selector: ([k]) => k }).map((entries) => {
    const out: { [key: string]: A } = {}
    for (const [k, v] of entries) out[k] = v
    return out
  })

const docStateArb = (fc: FC, depth = 2): FastCheck.Arbitrary<DocStateType> => {
  const stamp = hexArb(fc, 32).map(Stamp.Stamp.make)
  const site = hexArb(fc, 16)
  const register: FastCheck.Arbitrary<Register> = fc.record({ s: stamp, v: jsonArb(fc, 2) }, { requiredKeys: ["s"] })
  const entry: FastCheck.Arbitrary<CounterEntry> = fc.tuple(
    fc.integer(),
    stamp,
    fc.oneof(fc.constant<"">(""), stamp)
  )
  const counter: FastCheck.Arbitrary<Counter> = fc.record(
    { z: stamp, e: recordOf(fc, site, entry, 3) },
    { requiredKeys: ["e"] }
  )
  const slot: FastCheck.Arbitrary<Slot> = depth > 0
    ? fc.record({ r: register, m: docStateArb(fc, depth - 1), c: counter }, { requiredKeys: [] })
    : fc.record({ r: register, c: counter }, { requiredKeys: [] })
  return fc.record({ b: stamp, f: recordOf(fc, keyArb(fc), slot, 4) }, { requiredKeys: ["f"] })
}

const versionVectorArb = (fc: FC): FastCheck.Arbitrary<VersionVectorType> =>
  recordOf(fc, hexArb(fc, 16), hexArb(fc, 16).map(Hlc.Hlc.make), 4)

// ------------------------------------------------------------------ declared schemas

/** `Document.DocStateSchema`, validated by hand (≈ 10× faster). */
export const DocState = declareFast<DocStateType>("DocState", isMapNode, (fc) => docStateArb(fc))

/** `VersionVector.VersionVector`, validated by hand. */
export const VersionVector = declareFast<VersionVectorType>("VersionVector", isVersionVector, (fc) => versionVectorArb(fc))

/** `Json.JsonObject`, validated by hand (plain objects only). */
export const JsonObject = declareFast<JsonObjectType>(
  "JsonObject",
  isJsonObject,
  (fc) => jsonObjectArb(fc, jsonArb(fc, 2))
)

// ------------------------------------------------------------------ messages

const Uint32 = Schema.Int.pipe(Schema.between(0, 0xffffffff), Schema.annotations({ identifier: "Uint32" }))
const PositiveInt = Schema.Int.pipe(Schema.positive(), Schema.annotations({ identifier: "PositiveInt" }))
const optional = <S extends Schema.Schema.All>(schema: S) => Schema.optionalWith(schema, { exact: true })

/** First message of the dialer. `token` is the signed permissions token; `relay` offers to relay subscriptions. */
export const Hello = Schema.TaggedStruct("Hello", {
  protocolVersion: ProtocolVersion,
  appIdHash: Uint32,
  siteId: SiteId,
  networkId: Uint32,
  deviceName: Schema.String,
  token: optional(Schema.String),
  relay: Schema.Boolean
})
export type Hello = typeof Hello.Type

/** The listener accepts the Hello. */
export const Welcome = Schema.TaggedStruct("Welcome", {
  protocolVersion: ProtocolVersion,
  siteId: SiteId,
  networkId: Uint32,
  deviceName: Schema.String
})
export type Welcome = typeof Welcome.Type

/** The listener refuses the Hello (version, app, token …); the link ends. */
export const Reject = Schema.TaggedStruct("Reject", { reason: Schema.String })
export type Reject = typeof Reject.Type

export const Query = Schema.Struct({
  id: Schema.String,
  collection: Schema.String,
  /** DQL predicate text (the WHERE clause); absent = the whole collection. */
  where: optional(Schema.String),
  args: JsonObject
})
export type Query = typeof Query.Type

/** What the sender wants to receive. Replaces the previous set. */
export const Subscribe = Schema.TaggedStruct("Subscribe", { queries: Schema.Array(Query) })
export type Subscribe = typeof Subscribe.Type

/**
 * One document the sender has: `id` is the canonical JSON of its `_id`;
 * `evicted` marks a document evicted locally (the sender no longer holds it).
 * Validated by hand (sent for every document on connect).
 */
export interface SummaryEntry {
  readonly collection: string
  readonly id: string
  readonly vv: VersionVectorType
  readonly evicted?: boolean
}
export const SummaryEntry = declareFast<SummaryEntry>("SummaryEntry", isSummaryEntry, (fc) =>
  fc.record({ collection: fc.string(), id: fc.string(), vv: versionVectorArb(fc), evicted: fc.boolean() }, {
    requiredKeys: ["collection", "id", "vv"]
  }))

/** Version vectors of what the sender already has, so the remote sends only deltas. */
export const Summary = Schema.TaggedStruct("Summary", { docs: Schema.Array(SummaryEntry) })
export type Summary = typeof Summary.Type

/**
 * One document's delta: `base` is the version vector it was computed against
 * (absent = the full state). Validated by hand (the initial-sync hot path).
 */
export interface DeltaEntry {
  readonly collection: string
  readonly id: string
  /** The version vector the delta was computed against (absent = full state). */
  readonly base?: VersionVectorType
  /** The sender's version vector of the document: what the receiver knows once merged. */
  readonly vv?: VersionVectorType
  /** The delta; absent when `put` carries the whole document. */
  readonly delta?: DocStateType
  /** A whole document written at one `stamp` (delta = `Document.fromJson(put, stamp)`): smaller and faster. */
  readonly put?: JsonObjectType
  readonly stamp?: Stamp.Stamp
}

/**
 * What the sender has of an entry's document: its `vv`, else what its body
 * shows (the stamp of a whole document, the stamps in a delta); undefined for
 * an entry with neither (decoding refuses those).
 */
export const senderVersion = (entry: DeltaEntry): VersionVectorType | undefined =>
  entry.vv ??
    (entry.stamp !== undefined ? ofStamp(entry.stamp) : entry.delta === undefined ? undefined : versionVector(entry.delta))

const DeltaEntryArbitrary = (fc: FC): FastCheck.Arbitrary<DeltaEntry> =>
  fc.oneof(
    fc.record({ collection: fc.string(), id: fc.string(), base: versionVectorArb(fc), vv: versionVectorArb(fc), delta: docStateArb(fc) }, {
      requiredKeys: ["collection", "id", "delta"]
    }),
    fc.record({
      collection: fc.string(),
      id: fc.string(),
      put: jsonObjectArb(fc, jsonArb(fc, 2)),
      stamp: fc.stringMatching(/^[0-9a-f]{32}$/).map((s) => Stamp.Stamp.make(s))
    })
  )

export const DeltaEntry = declareFast<DeltaEntry>("DeltaEntry", isDeltaEntry, DeltaEntryArbitrary)

// One check over the whole list: a Schema.Array of declared entries allocated
// a parse result per document, a measurable share of an initial sync.
/** A guard of arrays from a guard of their items (the failing index goes in the path). */
const arrayOf = <A>(item: (u: unknown, f: Failure) => u is A) => (u: unknown, f: Failure): u is ReadonlyArray<A> => {
  if (!Array.isArray(u)) return f.fail(`expected an array, got ${preview(u)}`)
  for (let i = 0; i < u.length; i++) if (!item(u[i], f)) return f.at(i)
  return true
}

const isDeltaEntries = arrayOf(isDeltaEntry)

/**
 * Whole documents written at one stamp into one collection: the compact form
 * of a run of `put` entries (a bulk insert, an initial sync of documents
 * written together). Each document's id is the canonical JSON of its `_id`,
 * so neither it nor the collection and stamp are repeated per document.
 */
export interface DeltaGroup {
  readonly collection: string
  readonly stamp: Stamp.Stamp
  readonly docs: ReadonlyArray<JsonObjectType>
}

const isWholeDocument = (u: unknown, f: Failure): u is JsonObjectType =>
  isJsonObject(u, f) && ("_id" in u || f.fail("a whole document needs an _id"))
const isWholeDocuments = arrayOf(isWholeDocument)

const isDeltaGroup = (u: unknown, f: Failure): u is DeltaGroup => {
  if (!isPlainObject(u)) return f.fail(`expected {collection, stamp, docs}, got ${preview(u)}`)
  let required = 0
  for (const key in u) {
    const value = u[key]
    switch (key) {
      case "collection":
        if (typeof value !== "string") return f.fail(`expected a string, got ${preview(value)}`) || f.at(key)
        break
      case "stamp":
        if (!isStamp(value)) return f.fail(`expected a stamp, got ${preview(value)}`) || f.at(key)
        break
      case "docs":
        if (!isWholeDocuments(value, f)) return f.at(key)
        break
      default:
        return f.fail("is unexpected") || f.at(key)
    }
    required++
  }
  return required === 3 || missing(u, ["collection", "stamp", "docs"], f)
}

const isDeltaGroups = arrayOf(isDeltaGroup)

export const DeltaGroups = declareFast<ReadonlyArray<DeltaGroup>>("DeltaGroups", isDeltaGroups, (fc) =>
  fc.array(
    fc.record({
      collection: fc.string(),
      stamp: fc.stringMatching(/^[0-9a-f]{32}$/).map((s) => Stamp.Stamp.make(s)),
      docs: fc.array(
        fc.tuple(fc.oneof(fc.string({ maxLength: 8 }), fc.integer()), jsonObjectArb(fc, jsonArb(fc, 1)))
          .map(([id, doc]): JsonObjectType => ({ ...doc, _id: id })),
        { maxLength: 4 }
      )
    }),
    { maxLength: 3 }
  ))

/** The documents of a `Deltas` batch. */
export const DeltaEntries = declareFast<ReadonlyArray<DeltaEntry>>(
  "DeltaEntries",
  isDeltaEntries,
  (fc) => fc.array(DeltaEntryArbitrary(fc), { maxLength: 5 })
)

export const Progress = Schema.Struct({
  queryId: Schema.String,
  sent: Schema.NonNegativeInt,
  total: Schema.NonNegativeInt
})
export type Progress = typeof Progress.Type

/**
 * A batch of document deltas. `batch` is link-local, consecutive from 1;
 * `upToSeq` is the sender's op-log seq this batch brings the receiver up to.
 */
export const Deltas = Schema.TaggedStruct("Deltas", {
  batch: PositiveInt,
  upToSeq: optional(Schema.NonNegativeInt),
  docs: DeltaEntries,
  /** Whole documents grouped by collection and stamp (from protocol 1.1; merged before `docs`). */
  groups: optional(DeltaGroups),
  progress: optional(Progress)
})
export type Deltas = typeof Deltas.Type

/** The receiver applied (durably) every batch up to `batch`. */
export const Ack = Schema.TaggedStruct("Ack", {
  batch: Schema.NonNegativeInt,
  upToSeq: optional(Schema.NonNegativeInt)
})
export type Ack = typeof Ack.Type

export const DocRef = Schema.Struct({ collection: Schema.String, id: Schema.String })
export type DocRef = typeof DocRef.Type

/** Writes of batch `batch` the receiver dropped (permissions); the rest of the batch was applied. */
export const WriteRejected = Schema.TaggedStruct("WriteRejected", {
  batch: Schema.NonNegativeInt,
  reason: Schema.String,
  docs: Schema.Array(DocRef)
})
export type WriteRejected = typeof WriteRejected.Type

export const Ping = Schema.TaggedStruct("Ping", { n: Schema.Number })
export type Ping = typeof Ping.Type

export const Pong = Schema.TaggedStruct("Pong", { n: Schema.Number })
export type Pong = typeof Pong.Type

/** The sender is closing the link on purpose (shutdown, churn, duplicate link …). */
export const Goodbye = Schema.TaggedStruct("Goodbye", { reason: Schema.String })
export type Goodbye = typeof Goodbye.Type

export const Message = Schema.Union(
  Hello,
  Welcome,
  Reject,
  Subscribe,
  Summary,
  Deltas,
  Ack,
  WriteRejected,
  Ping,
  Pong,
  Goodbye
)
export type Message = typeof Message.Type

const TAGS: ReadonlySet<string> = new Set([
  "Hello",
  "Welcome",
  "Reject",
  "Subscribe",
  "Summary",
  "Deltas",
  "Ack",
  "WriteRejected",
  "Ping",
  "Pong",
  "Goodbye"
])

// ------------------------------------------------------------------ negotiation

/**
 * Check the remote's protocol version. Same major: compatible, and the
 * result is the version both speak (lower minor). Otherwise `Left` with the
 * reason to put in a `Reject`.
 */
export const negotiate = (
  hello: { readonly protocolVersion: ProtocolVersion }
): Either.Either<ProtocolVersion, string> => {
  const theirs = hello.protocolVersion
  return theirs.major === PROTOCOL_VERSION.major
    ? Either.right({ major: PROTOCOL_VERSION.major, minor: Math.min(PROTOCOL_VERSION.minor, theirs.minor) })
    : Either.left(
      `unsupported protocol version ${theirs.major}.${theirs.minor} (this peer speaks ${PROTOCOL_VERSION.major}.x)`
    )
}

// ------------------------------------------------------------------ codec

// Plain msgpack maps (no records), smallest map headers, 64-bit ints as numbers (JSON semantics).
const packr = new Packr({ useRecords: false, variableMapSize: true, int64AsType: "number" })

/**
 * Pack a message. Messages are plain data and need no Schema encoding step.
 * The result may exceed `MAX_FRAME_BYTES` if the caller batches too much:
 * the remote would reject it, so size batches below it.
 */
export const encode = (message: Message): Uint8Array => packr.pack(message)

const validateMessage = Schema.decodeUnknownEither(Message, { onExcessProperty: "error" })

const describeAst = (ast: AST.AST): string => truncate(String(ast), 80)

/** A bounded description of the first problem (Effect's formatter prints whole values). */
const describeIssue = (issue: ParseResult.ParseIssue, path: Array<PropertyKey>): string => {
  switch (issue._tag) {
    case "Pointer":
      return describeIssue(issue.issue, path.concat(issue.path))
    case "Composite":
      return describeIssue(Array.isArray(issue.issues) ? issue.issues[0] : issue.issues, path)
    case "Refinement":
      return issue.kind === "From"
        ? describeIssue(issue.issue, path)
        : atPath(path, `expected ${describeAst(issue.ast)}, got ${preview(issue.actual)}`)
    case "Transformation":
      return describeIssue(issue.issue, path)
    case "Missing":
      return atPath(path, "is missing")
    case "Unexpected":
      return atPath(path, "is unexpected")
    case "Type":
    case "Forbidden":
      return atPath(path, issue.message ?? `expected ${describeAst(issue.ast)}, got ${preview(issue.actual)}`)
  }
}

const invalid = (message: string) => Either.left(new ProtocolError({ reason: "invalid", message }))

const errorText = (e: unknown): string => truncate(e instanceof Error ? e.message : String(e), 200)

/**
 * Unpack and validate one frame. Never throws: oversized frames are refused
 * before unpacking, bad msgpack is `malformed`, a wrong shape is `invalid`.
 */
export const decode = (bytes: Uint8Array): Either.Either<Message, ProtocolError> => {
  if (bytes.byteLength > MAX_FRAME_BYTES) {
    return Either.left(
      new ProtocolError({
        reason: "oversized",
        message: `frame of ${bytes.byteLength} bytes exceeds the limit of ${MAX_FRAME_BYTES}`
      })
    )
  }
  if (bytes.byteLength === 0) return Either.left(new ProtocolError({ reason: "malformed", message: "empty frame" }))
  let value: unknown
  let end = -1
  try {
    // unpackMultiple stops after the first value and tells where it ended (plain `unpack`
    // JSON-stringifies the whole value to report trailing bytes).
    packr.unpackMultiple(bytes, (first: unknown, _start?: number, stop?: number) => {
      value = first
      end = stop ?? -1
      return false
    })
  } catch (e) {
    return Either.left(new ProtocolError({ reason: "malformed", message: `not msgpack: ${errorText(e)}` }))
  }
  if (end !== bytes.byteLength) {
    return Either.left(new ProtocolError({ reason: "malformed", message: "trailing bytes after the message" }))
  }
  if (!isPlainObject(value)) return invalid(`expected a message, got ${preview(value)}`)
  const tag = value["_tag"]
  if (typeof tag !== "string" || !TAGS.has(tag)) return invalid(`unknown message type ${preview(tag)}`)
  try {
    const result = validateMessage(value)
    if (Either.isRight(result)) return Either.right(result.right)
    const message = describeIssue(result.left.issue, [])
    return invalid(`${tag}${message.startsWith("[") ? "" : ": "}${message}`)
  } catch (e) {
    // Only a pathological input gets here (e.g. nesting deep enough to exhaust the stack).
    return invalid(`${tag}: ${errorText(e)}`)
  }
}

// ------------------------------------------------------------------ length-prefix framing

/** `bytes` preceded by its length as a 4-byte big-endian integer (byte-stream transports). */
export const frameLength = (bytes: Uint8Array): Uint8Array => {
  const out = new Uint8Array(4 + bytes.byteLength)
  new DataView(out.buffer).setUint32(0, bytes.byteLength, false)
  out.set(bytes, 4)
  return out
}

/**
 * Incremental reader of length-prefixed frames: push the chunks a byte
 * stream delivers, get back the frames they complete, in order. A length
 * above `MAX_FRAME_BYTES` is an `oversized` error (checked on the prefix,
 * before buffering the body); after an error the reader stays failed.
 * Pure: no IO, no clock.
 */
export class FrameReader {
  private chunks: Array<Uint8Array> = []
  /** Read offset into `chunks[0]`. */
  private offset = 0
  private available = 0
  /** Body length of the frame being read, or -1 while reading its prefix. */
  private need = -1
  private error: ProtocolError | undefined

  constructor(private readonly maxFrameBytes: number = MAX_FRAME_BYTES) {}

  /** Bytes received but not yet returned as frames. */
  get buffered(): number {
    return this.available
  }

  push(chunk: Uint8Array): Either.Either<ReadonlyArray<Uint8Array>, ProtocolError> {
    if (this.error !== undefined) return Either.left(this.error)
    if (chunk.byteLength > 0) {
      this.chunks.push(chunk)
      this.available += chunk.byteLength
    }
    const frames: Array<Uint8Array> = []
    while (true) {
      if (this.need < 0) {
        if (this.available < 4) break
        const header = this.take(4)
        const length = ((header[0]! << 24) >>> 0) + (header[1]! << 16) + (header[2]! << 8) + header[3]!
        if (length > this.maxFrameBytes) {
          this.error = new ProtocolError({
            reason: "oversized",
            message: `frame of ${length} bytes exceeds the limit of ${this.maxFrameBytes}`
          })
          this.chunks = []
          this.available = 0
          return Either.left(this.error)
        }
        this.need = length
      }
      if (this.available < this.need) break
      frames.push(this.take(this.need))
      this.need = -1
    }
    return Either.right(frames)
  }

  /** Remove and return the next `n` bytes (n <= available); a view when they lie in one chunk. */
  private take(n: number): Uint8Array {
    this.available -= n
    const first = this.chunks[0]
    if (first === undefined) return new Uint8Array(0)
    if (first.byteLength - this.offset >= n) {
      const out = first.subarray(this.offset, this.offset + n)
      this.offset += n
      if (this.offset === first.byteLength) {
        this.chunks.shift()
        this.offset = 0
      }
      return out
    }
    const out = new Uint8Array(n)
    let filled = 0
    while (filled < n) {
      const chunk = this.chunks[0]!
      const count = Math.min(n - filled, chunk.byteLength - this.offset)
      out.set(chunk.subarray(this.offset, this.offset + count), filled)
      filled += count
      this.offset += count
      if (this.offset === chunk.byteLength) {
        this.chunks.shift()
        this.offset = 0
      }
    }
    return out
  }
}
