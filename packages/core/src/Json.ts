/**
 * JSON values as stored in documents and carried on the wire.
 * `undefined` never appears inside a Json value: a missing field is absent.
 */
import * as Arbitrary from "effect/Arbitrary"
import type * as AST from "effect/SchemaAST"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"

export type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [key: string]: Json }
export type JsonObject = { readonly [key: string]: Json }

export const Json: Schema.Schema<Json> = Schema.suspend(() =>
  Schema.Union(
    Schema.Null,
    Schema.Boolean,
    Schema.Number,
    Schema.String,
    Schema.Array(Json),
    Schema.Record({ key: Schema.String, value: Json })
  )
)

export const JsonObject: Schema.Schema<JsonObject> = Schema.Record({ key: Schema.String, value: Json })

/**
 * "__proto__" cannot be a field name: msgpack (the sync wire) renames it, and
 * JavaScript assignment and Schema decoding turn it into a prototype, so peers
 * could not agree on such a document. Writes holding one are refused.
 */
export const RESERVED_FIELD = "__proto__"
export const RESERVED_FIELD_MESSAGE = `"${RESERVED_FIELD}" is not allowed as a field name`

/** Whether a parsed value has an own key "__proto__" at any depth (JSON.parse makes such keys). */
export const hasProtoKey = (u: unknown): boolean => {
  if (Array.isArray(u)) return u.some(hasProtoKey)
  if (typeof u !== "object" || u === null) return false
  if (Object.hasOwn(u, RESERVED_FIELD)) return true
  for (const v of Object.values(u)) if (hasProtoKey(v)) return true
  return false
}

/** `hasProtoKey` on JSON text as JSON.stringify writes it (unescaped, that text can only be a key). */
export const textHasProtoKey = (json: string): boolean => json.includes(`"${RESERVED_FIELD}":`)

const isJsonObjectValue = Schema.is(JsonObject)
const checkInput = () => (input: unknown, _options: AST.ParseOptions, ast: AST.Declaration) =>
  hasProtoKey(input)
    ? ParseResult.fail(new ParseResult.Type(ast, input, RESERVED_FIELD_MESSAGE))
    : isJsonObjectValue(input)
    ? ParseResult.succeed(input)
    : ParseResult.fail(new ParseResult.Type(ast, input, "expected a JSON object"))

/**
 * A JSON object arriving from outside (HTTP and RPC bodies), checked as it
 * is (a declared schema: nothing is rebuilt) on decode and on encode, and
 * refused when it holds a "__proto__" key, which rebuilding an object (a
 * Schema.Record) or msgpack would otherwise drop or rename silently.
 */
export const JsonObjectInput: Schema.Schema<JsonObject> = Schema.declare<JsonObject, JsonObject, readonly []>(
  [],
  { decode: checkInput, encode: checkInput },
  { identifier: "JsonObject", arbitrary: () => Arbitrary.makeLazy(JsonObject) }
)

/**
 * `obj[key] = value`, except that a key named "__proto__" stays an own field
 * (a plain assignment would set the object's prototype and lose the field).
 */
export const setField = <V>(obj: { [key: string]: V }, key: string, value: V): void => {
  if (key === RESERVED_FIELD) Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true })
  else obj[key] = value
}

export const isObject = (value: Json | undefined): value is JsonObject =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** A document's id: the canonical JSON of its `_id` (what the store keys it by and the wire names it by). */
export const idOfDocument = (doc: JsonObject): string => {
  const id = doc._id ?? null
  return typeof id === "string" ? JSON.stringify(id) : canonical(id)
}

/** Canonical JSON: object keys sorted, so equal values give equal strings (used for `_id` keys). */
export const canonical = (value: Json): string => {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`
  if (isObject(value)) {
    const keys = Object.keys(value).sort()
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(value[k]!)}`).join(",")}}`
  }
  return JSON.stringify(value)
}

/** Structural equality of two JSON values (object key order ignored). */
export const equals = (a: Json | undefined, b: Json | undefined): boolean => {
  if (a === b) return true
  if (a === undefined || b === undefined) return false
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false
    for (let i = 0; i < a.length; i++) if (!equals(a[i], b[i])) return false
    return true
  }
  if (isObject(a)) {
    if (!isObject(b)) return false
    const ka = Object.keys(a)
    if (ka.length !== Object.keys(b).length) return false
    for (const k of ka) if (!(k in b) || !equals(a[k], b[k])) return false
    return true
  }
  return false
}
