var __defProp = Object.defineProperty;
var __export = (target2, all3) => {
  for (var name in all3)
    __defProp(target2, name, { get: all3[name], enumerable: true });
};

// packages/cli/src/main.ts
import { NodeContext as NodeContext2, NodeRuntime } from "@effect/platform-node";
import * as Cause2 from "effect/Cause";
import * as Effect20 from "effect/Effect";
import * as Exit2 from "effect/Exit";
import * as Layer7 from "effect/Layer";
import * as Logger from "effect/Logger";

// packages/cli/src/Cli.ts
import { Args, Command, Options, ValidationError } from "@effect/cli";
import * as Cause from "effect/Cause";
import * as Data from "effect/Data";
import * as Effect19 from "effect/Effect";
import * as Option2 from "effect/Option";

// packages/cli/src/CliError.ts
import * as Schema from "effect/Schema";
var CliError = class extends Schema.TaggedError()("CliError", {
  message: Schema.String
}) {
};
var fromError = (context) => (e) => new CliError({ message: context === void 0 ? oneLine(e.message) : `${context}: ${oneLine(e.message)}` });
var oneLine = (text) => text.replace(/\s*\n\s*/g, " ").trim();

// packages/cli/src/internal/Output.ts
import * as Context from "effect/Context";
import * as Effect from "effect/Effect";
import * as Exit from "effect/Exit";
import * as Layer from "effect/Layer";
import { closeSync, existsSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
var Output = class extends Context.Tag("@shoal/cli/Output")() {
};
var FLUSH_AT = 64 * 1024;
var buffered = (writeOut) => {
  let buffer = "";
  const flush = Effect.suspend(() => {
    if (buffer.length === 0) return Effect.void;
    const chunk = buffer;
    buffer = "";
    return writeOut(chunk);
  });
  return {
    write: (text) => Effect.suspend(() => {
      buffer += text;
      return buffer.length >= FLUSH_AT ? flush : Effect.void;
    }),
    flush
  };
};
var streamWrite = (stream, chunk) => Effect.async((resume) => {
  stream.write(chunk, (err) => {
    resume(err == null ? Effect.void : Effect.fail(new CliError({ message: `cannot write output: ${err.message}` })));
  });
});
var layerNode = Layer.sync(Output, () => ({
  stdout: buffered((chunk) => streamWrite(process.stdout, chunk)),
  stderr: (text) => Effect.sync(() => void process.stderr.write(text)),
  stderrIsTTY: process.stderr.isTTY === true
}));
var describe = (e) => e instanceof Error ? e.message : String(e);
var attempt = (what, f) => Effect.try({ try: f, catch: (e) => new CliError({ message: `${what}: ${describe(e)}` }) });
var atomicTarget = (path, force2) => Effect.gen(function* () {
  if (existsSync(path) && !force2) {
    return yield* new CliError({ message: `${path} already exists (use --force to overwrite it)` });
  }
  if (!existsSync(dirname(path))) {
    return yield* new CliError({ message: `no such directory: ${dirname(path)}` });
  }
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const companions = ["", "-wal", "-shm", "-journal"];
  const removeTmp = () => companions.forEach((s) => rmSync(tmp + s, { force: true }));
  yield* Effect.acquireRelease(
    attempt(`cannot write ${path}`, () => {
      removeTmp();
      return tmp;
    }),
    (_, exit) => Exit.isSuccess(exit) ? attempt(`cannot write ${path}`, () => {
      for (const s of companions) rmSync(path + s, { force: true });
      for (const s of companions) if (existsSync(tmp + s)) renameSync(tmp + s, path + s);
    }).pipe(
      Effect.catchAll((e) => Effect.sync(removeTmp).pipe(Effect.zipRight(Effect.die(e))))
    ) : Effect.sync(removeTmp)
  );
  return tmp;
});
var fileSink = (path, force2) => Effect.gen(function* () {
  const tmp = yield* atomicTarget(path, force2);
  const fd = yield* Effect.acquireRelease(
    attempt(`cannot write ${path}`, () => openSync(tmp, "w")),
    (fd2) => Effect.sync(() => closeSync(fd2))
  );
  return buffered((chunk) => attempt(`cannot write ${path}`, () => void writeSync(fd, chunk)));
});

// packages/core/src/Json.ts
var Json_exports = {};
__export(Json_exports, {
  Json: () => Json,
  JsonObject: () => JsonObject,
  canonical: () => canonical,
  equals: () => equals,
  isObject: () => isObject
});
import * as Schema2 from "effect/Schema";
var Json = Schema2.suspend(
  () => Schema2.Union(
    Schema2.Null,
    Schema2.Boolean,
    Schema2.Number,
    Schema2.String,
    Schema2.Array(Json),
    Schema2.Record({ key: Schema2.String, value: Json })
  )
);
var JsonObject = Schema2.Record({ key: Schema2.String, value: Json });
var isObject = (value) => typeof value === "object" && value !== null && !Array.isArray(value);
var canonical = (value) => {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (isObject(value)) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
};
var equals = (a, b) => {
  if (a === b) return true;
  if (a === void 0 || b === void 0) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!equals(a[i], b[i])) return false;
    return true;
  }
  if (isObject(a)) {
    if (!isObject(b)) return false;
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    for (const k of ka) if (!(k in b) || !equals(a[k], b[k])) return false;
    return true;
  }
  return false;
};

// packages/core/src/Hlc.ts
var Hlc_exports = {};
__export(Hlc_exports, {
  Hlc: () => Hlc,
  MAX_COUNTER: () => MAX_COUNTER,
  MAX_MS: () => MAX_MS,
  counter: () => counter,
  encode: () => encode,
  makeClock: () => makeClock,
  max: () => max,
  millis: () => millis,
  observe: () => observe,
  tick: () => tick,
  zero: () => zero
});
import * as Schema3 from "effect/Schema";
var Hlc = Schema3.String.pipe(Schema3.pattern(/^[0-9a-f]{16}$/), Schema3.brand("Hlc"));
var MAX_COUNTER = 65535;
var MAX_MS = 2 ** 48 - 1;
var zero = Hlc.make("0000000000000000");
var encode = (ms, counter2) => Hlc.make(Math.min(ms, MAX_MS).toString(16).padStart(12, "0") + counter2.toString(16).padStart(4, "0"));
var millis = (h) => parseInt(h.slice(0, 12), 16);
var counter = (h) => parseInt(h.slice(12), 16);
var max = (a, b) => a > b ? a : b;
var makeClock = (last = zero) => ({ last });
var after = (ms, c) => c >= MAX_COUNTER ? encode(ms + 1, 0) : encode(ms, c + 1);
var tick = (clock, now) => {
  const lastMs = millis(clock.last);
  const next = now > lastMs ? encode(now, 0) : after(lastMs, counter(clock.last));
  clock.last = next;
  return next;
};
var observe = (clock, remote) => {
  if (remote > clock.last) clock.last = remote;
};

// packages/core/src/SiteId.ts
var SiteId_exports = {};
__export(SiteId_exports, {
  SiteId: () => SiteId,
  make: () => make,
  unsafeFromString: () => unsafeFromString
});
import * as Effect2 from "effect/Effect";
import * as Random from "effect/Random";
import * as Schema4 from "effect/Schema";
var SiteId = Schema4.String.pipe(Schema4.pattern(/^[0-9a-f]{16}$/), Schema4.brand("SiteId"));
var hex8 = (n) => (n >>> 0).toString(16).padStart(8, "0");
var make = Effect2.gen(function* () {
  const hi = yield* Random.nextIntBetween(0, 2147483647);
  const lo = yield* Random.nextIntBetween(0, 2147483647);
  const mix = yield* Random.nextIntBetween(0, 3);
  return SiteId.make(hex8(hi * 2 + (mix & 1)) + hex8(lo * 2 + (mix >> 1)));
});
var unsafeFromString = (s) => SiteId.make(s);

// packages/core/src/Stamp.ts
var Stamp_exports = {};
__export(Stamp_exports, {
  Stamp: () => Stamp,
  hlc: () => hlc,
  make: () => make2,
  max: () => max2,
  none: () => none,
  site: () => site
});
import * as Schema5 from "effect/Schema";
var Stamp = Schema5.String.pipe(Schema5.pattern(/^[0-9a-f]{32}$/), Schema5.brand("Stamp"));
var make2 = (hlc2, site2) => Stamp.make(hlc2 + site2);
var none = "";
var hlc = (s) => Hlc.make(s.slice(0, 16));
var site = (s) => s.slice(16);
var max2 = (a, b) => a > b ? a : b;

// packages/core/src/VersionVector.ts
var VersionVector_exports = {};
__export(VersionVector_exports, {
  VersionVector: () => VersionVector,
  addStamp: () => addStamp,
  dominates: () => dominates,
  empty: () => empty,
  equals: () => equals2,
  isNew: () => isNew,
  merge: () => merge
});
import * as Schema6 from "effect/Schema";
var VersionVector = Schema6.Record({ key: Schema6.String, value: Hlc });
var empty = {};
var isNew = (vv, stamp) => {
  const known = vv[stamp.slice(16)];
  return known === void 0 || stamp.slice(0, 16) > known;
};
var addStamp = (vv, stamp) => {
  const site2 = stamp.slice(16);
  const h = Hlc.make(stamp.slice(0, 16));
  const known = vv[site2];
  if (known === void 0 || h > known) vv[site2] = h;
};
var merge = (a, b) => {
  const out = { ...a };
  for (const site2 in b) {
    const h = b[site2];
    const known = out[site2];
    if (known === void 0 || h > known) out[site2] = h;
  }
  return out;
};
var dominates = (a, b) => {
  for (const site2 in b) {
    const known = a[site2];
    if (known === void 0 || known < b[site2]) return false;
  }
  return true;
};
var equals2 = (a, b) => dominates(a, b) && dominates(b, a);

// packages/core/src/Document.ts
var Document_exports = {};
__export(Document_exports, {
  CounterSchema: () => CounterSchema,
  DocStateSchema: () => DocStateSchema,
  MapNodeSchema: () => MapNodeSchema,
  RegisterSchema: () => RegisterSchema,
  SlotSchema: () => SlotSchema,
  delta: () => delta,
  empty: () => empty2,
  fromJson: () => fromJson,
  increment: () => increment,
  isVisible: () => isVisible,
  materialize: () => materialize,
  maxStamp: () => maxStamp,
  merge: () => merge2,
  readPath: () => readPath,
  remove: () => remove,
  resetCounter: () => resetCounter,
  set: () => set,
  unset: () => unset,
  versionVector: () => versionVector
});
import * as Schema7 from "effect/Schema";
var RegisterSchema = Schema7.Struct({ s: Stamp, v: Schema7.optionalWith(Json, { exact: true }) });
var CounterSchema = Schema7.Struct({
  z: Schema7.optionalWith(Stamp, { exact: true }),
  e: Schema7.Record({
    key: Schema7.String,
    value: Schema7.Tuple(Schema7.Number, Stamp, Schema7.Union(Stamp, Schema7.Literal("")))
  })
});
var SlotSchema = Schema7.Struct({
  r: Schema7.optionalWith(RegisterSchema, { exact: true }),
  m: Schema7.optionalWith(Schema7.suspend(() => MapNodeSchema), { exact: true }),
  c: Schema7.optionalWith(CounterSchema, { exact: true })
});
var MapNodeSchema = Schema7.Struct({
  b: Schema7.optionalWith(Stamp, { exact: true }),
  f: Schema7.Record({ key: Schema7.String, value: Schema7.suspend(() => SlotSchema) })
});
var DocStateSchema = MapNodeSchema;
var empty2 = () => ({ f: {} });
var mergeRegister = (a, b) => {
  if (a === void 0) return b;
  if (b === void 0) return a;
  if (b.s !== a.s) return b.s > a.s ? b : a;
  return tieKey(b.v) > tieKey(a.v) ? b : a;
};
var tieKey = (v) => v === void 0 ? "" : "v" + canonical(v);
var mergeCounter = (a, b) => {
  if (a === void 0) return b;
  if (b === void 0) return a;
  const e = { ...a.e };
  for (const site2 in b.e) {
    const mine = e[site2];
    const theirs = b.e[site2];
    if (mine === void 0 || theirs[1] > mine[1] || theirs[1] === mine[1] && (theirs[0] > mine[0] || theirs[0] === mine[0] && theirs[2] > mine[2])) e[site2] = theirs;
  }
  const z = a.z === void 0 ? b.z : b.z === void 0 ? a.z : a.z > b.z ? a.z : b.z;
  return z === void 0 ? { e } : { z, e };
};
var mergeSlot = (a, b) => {
  if (a === void 0) return b;
  const out = {};
  const r = mergeRegister(a.r, b.r);
  if (r !== void 0) out.r = r;
  const m = a.m === void 0 ? b.m : b.m === void 0 ? a.m : merge2(a.m, b.m);
  if (m !== void 0) out.m = m;
  const c = mergeCounter(a.c, b.c);
  if (c !== void 0) out.c = c;
  return out;
};
var merge2 = (a, b) => {
  const f = { ...a.f };
  for (const key in b.f) f[key] = mergeSlot(f[key], b.f[key]);
  const birth = a.b === void 0 ? b.b : b.b === void 0 ? a.b : a.b > b.b ? a.b : b.b;
  return birth === void 0 ? { f } : { b: birth, f };
};
var deltaCounter = (c, vv) => {
  let e;
  for (const site2 in c.e) {
    const entry = c.e[site2];
    if (isNew(vv, entry[1])) (e ??= {})[site2] = entry;
  }
  const z = c.z !== void 0 && isNew(vv, c.z) ? c.z : void 0;
  if (e === void 0 && z === void 0) return void 0;
  return z === void 0 ? { e: e ?? {} } : { z, e: e ?? {} };
};
var deltaSlot = (slot, vv) => {
  let out;
  if (slot.r !== void 0 && isNew(vv, slot.r.s)) (out ??= {}).r = slot.r;
  if (slot.m !== void 0) {
    const m = delta(slot.m, vv);
    if (m !== void 0) (out ??= {}).m = m;
  }
  if (slot.c !== void 0) {
    const c = deltaCounter(slot.c, vv);
    if (c !== void 0) (out ??= {}).c = c;
  }
  return out;
};
var delta = (state, vv) => {
  let f;
  for (const key in state.f) {
    const d = deltaSlot(state.f[key], vv);
    if (d !== void 0) (f ??= {})[key] = d;
  }
  const b = state.b !== void 0 && isNew(vv, state.b) ? state.b : void 0;
  if (f === void 0 && b === void 0) return void 0;
  return b === void 0 ? { f: f ?? {} } : { b, f: f ?? {} };
};
var visitStamps = (node, visit) => {
  if (node.b !== void 0) visit(node.b);
  for (const key in node.f) {
    const slot = node.f[key];
    if (slot.r !== void 0) visit(slot.r.s);
    if (slot.m !== void 0) visitStamps(slot.m, visit);
    if (slot.c !== void 0) {
      if (slot.c.z !== void 0) visit(slot.c.z);
      for (const site2 in slot.c.e) visit(slot.c.e[site2][1]);
    }
  }
};
var versionVector = (state) => {
  const vv = {};
  visitStamps(state, (s) => addStamp(vv, s));
  return vv;
};
var maxStamp = (state) => {
  let top = "";
  visitStamps(state, (s) => {
    if (s > top) top = s;
  });
  return top;
};
var counterRecency = (c) => {
  let top = c.z ?? "";
  for (const site2 in c.e) {
    const s = c.e[site2][1];
    if (s > top) top = s;
  }
  return top;
};
var mapRecency = (m) => {
  let top = m.b ?? "";
  for (const key in m.f) {
    const r = slotRecency(m.f[key]);
    if (r > top) top = r;
  }
  return top;
};
var slotRecency = (slot) => {
  let top = slot.r?.s ?? "";
  if (slot.m !== void 0) {
    const r = mapRecency(slot.m);
    if (r > top) top = r;
  }
  if (slot.c !== void 0) {
    const r = counterRecency(slot.c);
    if (r > top) top = r;
  }
  return top;
};
var winner = (slot, floor) => {
  let best;
  let bestAt = "";
  const consider = (kind, at2) => {
    if (at2 >= floor && at2 !== "" && (best === void 0 || at2 >= bestAt)) {
      best = kind;
      bestAt = at2;
    }
  };
  if (slot.r !== void 0) consider("r", slot.r.s);
  if (slot.m !== void 0) consider("m", mapRecency(slot.m));
  if (slot.c !== void 0) consider("c", counterRecency(slot.c));
  return best;
};
var counterValue = (c, floor) => {
  const epoch = c.z ?? "";
  let sum = 0;
  for (const site2 in c.e) {
    const [n, s, e] = c.e[site2];
    if (e === epoch && s >= floor) sum += n;
  }
  return sum;
};
var materializeSlot = (slot, floor) => {
  switch (winner(slot, floor)) {
    case "r":
      return slot.r.v;
    case "m":
      return materializeMap(slot.m, floor);
    case "c":
      return counterValue(slot.c, floor);
    default:
      return void 0;
  }
};
var materializeMap = (m, floor) => {
  const inner = m.b !== void 0 && m.b > floor ? m.b : floor;
  const out = {};
  for (const key in m.f) {
    const v = materializeSlot(m.f[key], inner);
    if (v !== void 0) out[key] = v;
  }
  return out;
};
var materialize = (state, id) => {
  const obj = materializeMap(state, "");
  for (const _ in obj) return { ...obj, _id: id };
  return void 0;
};
var isVisible = (state) => materialize(state, null) !== void 0;
var valueNode = (value, stamp) => isObject(value) ? { m: { b: stamp, f: Object.fromEntries(Object.entries(value).map(([k, v]) => [k, valueNode(v, stamp)])) } } : { r: { s: stamp, v: value } };
var atPath = (state, path, leaf, stamp) => {
  const build2 = (node, i, floor) => {
    const key = path[i];
    if (i === path.length - 1) return { f: { [key]: leaf } };
    const slot = node?.f[key];
    const inner = node?.b !== void 0 && node.b > floor ? node.b : floor;
    const live = slot !== void 0 && winner(slot, inner) === "m" ? slot.m : void 0;
    const child = build2(live, i + 1, inner);
    return { f: { [key]: { m: live === void 0 ? { b: stamp, f: child.f } : child } } };
  };
  return build2(state, 0, "");
};
var set = (state, path, value, stamp) => atPath(state, path, valueNode(value, stamp), stamp);
var unset = (state, path, stamp) => atPath(state, path, { r: { s: stamp } }, stamp);
var readPath = (state, path) => {
  let v = materializeMap(state, "");
  for (const key of path) {
    if (!isObject(v)) return void 0;
    v = v[key];
  }
  return v;
};
var liveSlot = (state, path) => {
  let node = state;
  let floor = "";
  for (let i = 0; i < path.length; i++) {
    if (node === void 0) return { slot: void 0, floor };
    if (node.b !== void 0 && node.b > floor) floor = node.b;
    const slot = node.f[path[i]];
    if (i === path.length - 1) return { slot, floor };
    node = slot !== void 0 && winner(slot, floor) === "m" ? slot.m : void 0;
  }
  return { slot: void 0, floor };
};
var increment = (state, path, by, site2, stamp) => {
  const { floor, slot } = liveSlot(state, path);
  const kind = slot === void 0 ? void 0 : winner(slot, floor);
  let counter2;
  if (kind === "c") {
    const c = slot.c;
    const epoch = c.z ?? "";
    const mine = c.e[site2];
    const base = mine !== void 0 && mine[2] === epoch && mine[1] >= floor ? mine[0] : 0;
    counter2 = c.z === void 0 ? { e: { [site2]: [base + by, stamp, epoch] } } : { z: c.z, e: { [site2]: [base + by, stamp, epoch] } };
  } else if (kind === "r" && typeof slot.r.v === "number") {
    counter2 = { z: stamp, e: { [site2]: [slot.r.v + by, stamp, stamp] } };
  } else if (slot?.c !== void 0) {
    counter2 = { z: stamp, e: { [site2]: [by, stamp, stamp] } };
  } else {
    counter2 = { e: { [site2]: [by, stamp, ""] } };
  }
  return atPath(state, path, { c: counter2 }, stamp);
};
var resetCounter = (state, path, stamp) => atPath(state, path, { c: { z: stamp, e: {} } }, stamp);
var fromJson = (doc, stamp) => {
  const f = {};
  for (const key in doc) f[key] = valueNode(doc[key], stamp);
  return { f };
};
var remove = (stamp) => ({ b: stamp, f: {} });

// packages/core/src/Op.ts
var Op_exports = {};
__export(Op_exports, {
  Change: () => Change,
  Eviction: () => Eviction,
  Op: () => Op,
  Origin: () => Origin,
  isEviction: () => isEviction,
  txnId: () => txnId
});
import * as Schema8 from "effect/Schema";
var Change = Schema8.Struct({
  collection: Schema8.String,
  /** Canonical JSON of the document's `_id`. */
  id: Schema8.String,
  delta: DocStateSchema
});
var Eviction = Schema8.Struct({
  collection: Schema8.String,
  id: Schema8.String,
  evict: Schema8.Literal(true)
});
var Origin = Schema8.Literal("local", "sync");
var Op = Schema8.Struct({
  seq: Schema8.NonNegativeInt,
  txnId: Schema8.String,
  siteId: SiteId,
  hlc: Hlc,
  origin: Origin,
  changes: Schema8.Array(Schema8.Union(Change, Eviction))
});
var isEviction = (c) => "evict" in c;
var txnId = (site2, seq) => `${site2}:${seq}`;

// packages/core/src/Dql/index.ts
var Dql_exports = {};
__export(Dql_exports, {
  Ast: () => Ast_exports,
  DqlArgumentError: () => DqlArgumentError,
  DqlSyntaxError: () => DqlSyntaxError,
  Evaluate: () => Evaluate_exports,
  Lexer: () => Lexer_exports,
  Parser: () => Parser_exports,
  Printer: () => Printer_exports,
  Sql: () => Sql_exports,
  parse: () => parse,
  parseEffect: () => parseEffect,
  parseExpression: () => parseExpression,
  print: () => print,
  printExpr: () => printExpr
});

// packages/core/src/Dql/Ast.ts
var Ast_exports = {};
__export(Ast_exports, {
  and: () => and,
  arg: () => arg,
  argNames: () => argNames,
  arith: () => arith,
  array: () => array,
  call: () => call,
  collectionOf: () => collectionOf,
  compare: () => compare,
  conjunction: () => conjunction,
  conjuncts: () => conjuncts,
  exprArgNames: () => exprArgNames,
  field: () => field,
  functionNames: () => functionNames,
  is: () => is,
  isIn: () => isIn,
  like: () => like,
  literal: () => literal,
  neg: () => neg,
  not: () => not,
  object: () => object,
  or: () => or
});
var functionNames = ["length", "lower", "upper", "abs", "coalesce"];
var literal = (value) => ({ _tag: "Literal", value });
var object = (fields) => ({ _tag: "ObjectLit", fields });
var array = (items) => ({ _tag: "ArrayLit", items });
var arg = (name) => ({ _tag: "Arg", name });
var field = (...path) => ({ _tag: "Field", path });
var call = (name, args) => ({ _tag: "Call", name, args });
var not = (expr) => ({ _tag: "Not", expr });
var neg = (expr) => ({ _tag: "Neg", expr });
var and = (left8, right7) => ({ _tag: "And", left: left8, right: right7 });
var or = (left8, right7) => ({ _tag: "Or", left: left8, right: right7 });
var compare = (op, left8, right7) => ({ _tag: "Compare", op, left: left8, right: right7 });
var arith = (op, left8, right7) => ({ _tag: "Arith", op, left: left8, right: right7 });
var isIn = (expr, list, negated = false) => ({
  _tag: "In",
  expr,
  list,
  negated
});
var like = (expr, pattern4, negated = false) => ({ _tag: "Like", expr, pattern: pattern4, negated });
var is = (expr, test, negated = false) => ({ _tag: "Is", expr, test, negated });
var conjunction = (exprs) => exprs.reduce((acc, e) => acc === void 0 ? e : and(acc, e), void 0);
var conjuncts = (expr) => expr._tag === "And" ? [...conjuncts(expr.left), ...conjuncts(expr.right)] : [expr];
var collectionOf = (statement) => {
  switch (statement._tag) {
    case "Explain":
      return statement.statement.collection;
    case "DropIndex":
      return void 0;
    default:
      return statement.collection;
  }
};
var exprArgNames = (expr) => {
  const names = /* @__PURE__ */ new Set();
  walkArgs(expr, names);
  return [...names];
};
var argNames = (statement) => {
  const names = /* @__PURE__ */ new Set();
  const count2 = (c) => {
    if (c !== void 0 && typeof c !== "number") names.add(c.name);
  };
  const visit = (s) => {
    switch (s._tag) {
      case "Select":
        if (s.projection !== "*") for (const p of s.projection) walkArgs(p.expr, names);
        if (s.where) walkArgs(s.where, names);
        for (const o of s.orderBy) walkArgs(o.expr, names);
        count2(s.limit);
        count2(s.offset);
        return;
      case "Insert":
        for (const d of s.documents) walkArgs(d, names);
        return;
      case "Update":
        for (const a of s.set) walkArgs(a.expr, names);
        for (const a of s.apply) walkArgs(a.by, names);
        if (s.where) walkArgs(s.where, names);
        return;
      case "Delete":
      case "Evict":
        if (s.where) walkArgs(s.where, names);
        return;
      case "Explain":
        return visit(s.statement);
      case "CreateIndex":
      case "DropIndex":
        return;
    }
  };
  visit(statement);
  return [...names];
};
var walkArgs = (expr, names) => {
  switch (expr._tag) {
    case "Arg":
      names.add(expr.name);
      return;
    case "Literal":
    case "Field":
      return;
    case "ObjectLit":
      for (const f of expr.fields) walkArgs(f.value, names);
      return;
    case "ArrayLit":
      for (const i of expr.items) walkArgs(i, names);
      return;
    case "Call":
      for (const a of expr.args) walkArgs(a, names);
      return;
    case "Not":
    case "Neg":
      return walkArgs(expr.expr, names);
    case "And":
    case "Or":
    case "Compare":
    case "Arith":
      walkArgs(expr.left, names);
      return walkArgs(expr.right, names);
    case "In":
      walkArgs(expr.expr, names);
      return walkArgs(expr.list, names);
    case "Like":
      walkArgs(expr.expr, names);
      return walkArgs(expr.pattern, names);
    case "Is":
      return walkArgs(expr.expr, names);
  }
};

// packages/core/src/Dql/Evaluate.ts
var Evaluate_exports = {};
__export(Evaluate_exports, {
  argValue: () => argValue,
  checkArgs: () => checkArgs,
  compare: () => compare2,
  compareStrings: () => compareStrings,
  compareWith: () => compareWith,
  countValue: () => countValue,
  evalExpr: () => evalExpr,
  getPath: () => getPath,
  holds: () => holds,
  like: () => like2,
  matches: () => matches,
  parseLikePattern: () => parseLikePattern,
  project: () => project,
  sortPage: () => sortPage
});
import * as Either from "effect/Either";

// packages/core/src/Dql/Errors.ts
import * as Schema9 from "effect/Schema";
var DqlSyntaxError = class extends Schema9.TaggedError()("DqlSyntaxError", {
  message: Schema9.String,
  line: Schema9.Number,
  column: Schema9.Number,
  token: Schema9.String
}) {
};
var DqlArgumentError = class extends Schema9.TaggedError()("DqlArgumentError", {
  name: Schema9.String,
  message: Schema9.String
}) {
};

// packages/core/src/Dql/Evaluate.ts
var argValue = (args, name) => Object.hasOwn(args, name) ? args[name] : void 0;
var getPath = (value, path) => {
  let current = value;
  for (const segment of path) {
    if (!isObject(current) || !Object.hasOwn(current, segment)) return void 0;
    current = current[segment];
  }
  return current;
};
var evalExpr = (expr, doc, args) => {
  const ev = (e) => {
    switch (e._tag) {
      case "Literal":
        return e.value;
      case "Arg":
        return argValue(args, e.name);
      case "Field":
        return getPath(doc, e.path);
      case "ObjectLit":
        return Object.fromEntries(
          e.fields.flatMap((f) => {
            const v = ev(f.value);
            return v === void 0 ? [] : [[f.key, v]];
          })
        );
      case "ArrayLit":
        return e.items.map((item) => ev(item) ?? null);
      case "Call":
        return call2(e.name, e.args.map(ev));
      case "Not":
        return !holds(ev(e.expr));
      case "Neg": {
        const v = ev(e.expr);
        return v === void 0 ? void 0 : typeof v === "number" ? normalize(-v) : null;
      }
      case "And":
        return holds(ev(e.left)) && holds(ev(e.right));
      case "Or":
        return holds(ev(e.left)) || holds(ev(e.right));
      case "Compare":
        return compareWith(e.op, ev(e.left), ev(e.right));
      case "Arith":
        return arith2(e.op, ev(e.left), ev(e.right));
      case "In": {
        const value = ev(e.expr);
        const list = ev(e.list);
        if (!Array.isArray(list)) return false;
        return e.negated ? list.every((item) => compareWith("!=", value, item)) : list.some((item) => compareWith("=", value, item));
      }
      case "Like": {
        const value = ev(e.expr);
        const pattern4 = ev(e.pattern);
        if (typeof value !== "string" || typeof pattern4 !== "string") return false;
        return like2(value, pattern4) !== e.negated;
      }
      case "Is": {
        const value = ev(e.expr);
        const result = e.test === "NULL" ? value === null : value === void 0;
        return result !== e.negated;
      }
    }
  };
  return ev(expr);
};
var holds = (value) => value === true;
var matches = (where, doc, args) => where === void 0 || holds(evalExpr(where, doc, args));
var normalize = (n) => Number.isFinite(n) ? n === 0 ? 0 : n : null;
var arith2 = (op, l, r) => {
  if (l === void 0 || r === void 0) return void 0;
  if (typeof l !== "number" || typeof r !== "number") return null;
  switch (op) {
    case "+":
      return normalize(l + r);
    case "-":
      return normalize(l - r);
    case "*":
      return normalize(l * r);
    case "/":
      return r === 0 ? null : normalize(l / r);
    case "%":
      return r === 0 ? null : normalize(l % r);
  }
};
var call2 = (name, args) => {
  const x = args[0];
  switch (name) {
    case "coalesce":
      return args.find((a) => a !== void 0 && a !== null) ?? null;
    case "length":
      if (x === void 0) return void 0;
      if (typeof x === "string") return codePoints(x).length;
      if (Array.isArray(x)) return x.length;
      if (isObject(x)) return Object.keys(x).length;
      return null;
    case "lower":
      return x === void 0 ? void 0 : typeof x === "string" ? x.toLowerCase() : null;
    case "upper":
      return x === void 0 ? void 0 : typeof x === "string" ? x.toUpperCase() : null;
    case "abs":
      return x === void 0 ? void 0 : typeof x === "number" ? normalize(Math.abs(x)) : null;
  }
};
var compareWith = (op, l, r) => {
  if (l === void 0 || l === null || r === void 0 || r === null) return false;
  if (op === "=") return equals(l, r);
  if (op === "!=") return !equals(l, r);
  const t = typeof l;
  if (t !== typeof r || t !== "number" && t !== "string" && t !== "boolean") return false;
  const c = compare2(l, r);
  switch (op) {
    case "<":
      return c < 0;
    case "<=":
      return c <= 0;
    case ">":
      return c > 0;
    case ">=":
      return c >= 0;
  }
};
var rank = (v) => {
  if (v === void 0) return 0;
  if (v === null) return 1;
  switch (typeof v) {
    case "boolean":
      return 2;
    case "number":
      return 3;
    case "string":
      return 4;
    default:
      return Array.isArray(v) ? 5 : 6;
  }
};
var sign = (n) => n < 0 ? -1 : n > 0 ? 1 : 0;
var compareStrings = (a, b) => {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return sign(unitOrder(x) - unitOrder(y));
  }
  return sign(a.length - b.length);
};
var unitOrder = (u) => u >= 55296 && u <= 57343 ? u + 8192 : u >= 57344 ? u - 2048 : u;
var compare2 = (a, b) => {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return sign(ra - rb);
  if (typeof a === "boolean" && typeof b === "boolean") return sign(Number(a) - Number(b));
  if (typeof a === "number" && typeof b === "number") return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === "string" && typeof b === "string") return compareStrings(a, b);
  if (Array.isArray(a) && Array.isArray(b)) {
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) {
      const c = compare2(a[i], b[i]);
      if (c !== 0) return c;
    }
    return sign(a.length - b.length);
  }
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a).sort(compareStrings);
    const kb = Object.keys(b).sort(compareStrings);
    const n = Math.min(ka.length, kb.length);
    for (let i = 0; i < n; i++) {
      const c = compareStrings(ka[i], kb[i]) || compare2(a[ka[i]], b[kb[i]]);
      if (c !== 0) return c;
    }
    return sign(ka.length - kb.length);
  }
  return 0;
};
var countValue = (count2, args) => {
  const v = count2 === void 0 || typeof count2 === "number" ? count2 : argValue(args, count2.name);
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? v : void 0;
};
var sortPage = (docs, orderBy, limit, offset, args) => {
  let sorted = [...docs];
  if (orderBy.length > 0) {
    const keyed = docs.map((doc, index) => ({ doc, index, keys: orderBy.map((o) => evalExpr(o.expr, doc, args)) }));
    keyed.sort((x, y) => {
      for (let i = 0; i < orderBy.length; i++) {
        const c = compare2(x.keys[i], y.keys[i]);
        if (c !== 0) return orderBy[i].direction === "DESC" ? -c : c;
      }
      return x.index - y.index;
    });
    sorted = keyed.map((k) => k.doc);
  }
  const start = countValue(offset, args) ?? 0;
  const n = countValue(limit, args);
  return sorted.slice(start, n === void 0 ? void 0 : start + n);
};
var project = (projection, doc, args) => {
  if (projection === "*") return doc;
  let out = {};
  projection.forEach((p, i) => {
    const value = evalExpr(p.expr, doc, args);
    if (value === void 0) return;
    const path = p.alias !== void 0 ? [p.alias] : p.expr._tag === "Field" ? p.expr.path : [`$${i + 1}`];
    out = setPath(out, path, value);
  });
  return out;
};
var setPath = (obj, path, value) => {
  const [head2, ...rest] = path;
  if (head2 === void 0) return obj;
  if (rest.length === 0) return { ...obj, [head2]: value };
  const child = Object.hasOwn(obj, head2) ? obj[head2] : void 0;
  return { ...obj, [head2]: setPath(isObject(child) ? child : {}, rest, value) };
};
var patternCache = /* @__PURE__ */ new Map();
var parseLikePattern = (pattern4) => {
  const cached = patternCache.get(pattern4);
  if (cached !== void 0) return cached;
  const items = parsePattern(pattern4);
  if (patternCache.size >= 256) patternCache.clear();
  patternCache.set(pattern4, items);
  return items;
};
var parsePattern = (pattern4) => {
  const chars = codePoints(pattern4);
  const items = [];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i];
    if (c === "\\" && i + 1 < chars.length && (chars[i + 1] === "%" || chars[i + 1] === "_" || chars[i + 1] === "\\")) {
      items.push({ char: chars[++i] });
    } else if (c === "%" || c === "_") {
      items.push(c);
    } else {
      items.push({ char: c });
    }
  }
  return items;
};
var like2 = (value, pattern4) => {
  const s = codePoints(value);
  const p = parseLikePattern(pattern4);
  let i = 0;
  let j = 0;
  let star = -1;
  let mark = 0;
  while (i < s.length) {
    const item = p[j];
    if (item !== void 0 && (item === "_" || item !== "%" && item.char === s[i])) {
      i++;
      j++;
    } else if (item === "%") {
      star = j++;
      mark = i;
    } else if (star >= 0) {
      j = star + 1;
      i = ++mark;
    } else {
      return false;
    }
  }
  while (p[j] === "%") j++;
  return j === p.length;
};
var codePoints = (s) => Array.from(s);
var checkArgs = (statement, args) => {
  const missing2 = argNames(statement).filter((name) => argValue(args, name) === void 0);
  if (missing2.length > 0) {
    const more = missing2.length > 1 ? ` (also missing: ${missing2.slice(1).map((n) => `:${n}`).join(", ")})` : "";
    return Either.left(new DqlArgumentError({ name: missing2[0], message: `missing argument :${missing2[0]}${more}` }));
  }
  const select2 = statement._tag === "Explain" ? statement.statement : statement;
  if (select2._tag === "Select") {
    for (const [clause, count2] of [["LIMIT", select2.limit], ["OFFSET", select2.offset]]) {
      if (count2 === void 0 || typeof count2 === "number") continue;
      if (countValue(count2, args) === void 0) {
        const got = JSON.stringify(argValue(args, count2.name));
        return Either.left(
          new DqlArgumentError({ name: count2.name, message: `${clause} :${count2.name} must be a non-negative integer, got ${got}` })
        );
      }
    }
  }
  if (statement._tag === "Insert") {
    for (const d of statement.documents) {
      if (d._tag !== "Arg") continue;
      const v = argValue(args, d.name);
      if (isObject(v) || Array.isArray(v) && v.every(isObject)) continue;
      return Either.left(
        new DqlArgumentError({
          name: d.name,
          message: `INSERT document :${d.name} must be an object (or an array of objects), got ${JSON.stringify(v)}`
        })
      );
    }
  }
  return Either.void;
};

// packages/core/src/Dql/Lexer.ts
var Lexer_exports = {};
__export(Lexer_exports, {
  describe: () => describe2,
  isPlainIdentifier: () => isPlainIdentifier,
  keywords: () => keywords,
  syntaxError: () => syntaxError,
  tokenize: () => tokenize
});
import * as Either2 from "effect/Either";
var symbols = [
  "==",
  "!=",
  "<>",
  "<=",
  ">=",
  "=",
  "<",
  ">",
  "(",
  ")",
  ",",
  ".",
  "[",
  "]",
  "{",
  "}",
  ":",
  "*",
  "+",
  "-",
  "/",
  "%",
  ";"
];
var keywords = /* @__PURE__ */ new Set([
  "SELECT",
  "FROM",
  "WHERE",
  "ORDER",
  "BY",
  "ASC",
  "DESC",
  "LIMIT",
  "OFFSET",
  "AS",
  "INSERT",
  "INTO",
  "DOCUMENTS",
  "ON",
  "ID",
  "CONFLICT",
  "FAIL",
  "DO",
  "NOTHING",
  "UPDATE",
  "SET",
  "UNSET",
  "APPLY",
  "PN_INCREMENT",
  "DELETE",
  "EVICT",
  "CREATE",
  "DROP",
  "INDEX",
  "IF",
  "EXISTS",
  "EXPLAIN",
  "AND",
  "OR",
  "NOT",
  "IN",
  "LIKE",
  "IS",
  "NULL",
  "MISSING",
  "TRUE",
  "FALSE"
]);
var whitespace = /\s+/y;
var lineComment = /--[^\n]*/y;
var blockComment = /\/\*[\s\S]*?\*\//y;
var identifier = /[\p{L}_][\p{L}\p{M}\p{N}_]*/uy;
var argument = /:([\p{L}_][\p{L}\p{M}\p{N}_]*)/uy;
var number = /\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
var identChar = /[\p{L}\p{M}\p{N}_.]/u;
var quotedIdent = /`((?:[^`]|``)*)`/y;
var singleString = /'((?:[^']|'')*)'/y;
var doubleString = /"(?:[^"\\]|\\[\s\S])*"/y;
var isPlainIdentifier = (name) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(name);
var describe2 = (token) => token._tag === "End" ? "end of input" : `'${token.text}'`;
var syntaxError = (what, token) => new DqlSyntaxError({
  message: `${what} at line ${token.line}, column ${token.column}, found ${describe2(token)}`,
  line: token.line,
  column: token.column,
  token: token._tag === "End" ? "" : token.text
});
var tokenize = (text) => {
  const tokens = [];
  let offset = 0;
  let line = 1;
  let lineStart = 0;
  const match2 = (re) => {
    re.lastIndex = offset;
    return re.exec(text);
  };
  const advance = (consumed) => {
    for (let i = 0; i < consumed.length; i++) {
      if (consumed.charCodeAt(i) === 10) {
        line++;
        lineStart = offset + i + 1;
      }
    }
    offset += consumed.length;
  };
  const at2 = (len) => ({ text: text.slice(offset, offset + len), line, column: offset - lineStart + 1 });
  const fail11 = (what, len) => Either2.left(syntaxError(what, { _tag: "Ident", ...at2(len) }));
  while (offset < text.length) {
    const m = match2(whitespace) ?? match2(lineComment) ?? match2(blockComment);
    if (m) {
      advance(m[0]);
      continue;
    }
    if (text.startsWith("/*", offset)) return fail11("unterminated comment", 2);
    const num = match2(number);
    if (num) {
      const next = text.codePointAt(offset + num[0].length);
      if (next !== void 0 && identChar.test(String.fromCodePoint(next))) {
        let end = offset + num[0].length;
        while (end < text.length && identChar.test(text[end])) end++;
        return fail11("invalid number", end - offset);
      }
      const value = Number(num[0]);
      if (!Number.isFinite(value)) return fail11("number out of range", num[0].length);
      tokens.push({ _tag: "Number", value, ...at2(num[0].length) });
      advance(num[0]);
      continue;
    }
    const id = match2(identifier);
    if (id) {
      tokens.push({ _tag: "Ident", name: id[0], ...at2(id[0].length) });
      advance(id[0]);
      continue;
    }
    const arg2 = match2(argument);
    if (arg2) {
      tokens.push({ _tag: "Arg", name: arg2[1], ...at2(arg2[0].length) });
      advance(arg2[0]);
      continue;
    }
    const qi = match2(quotedIdent);
    if (qi) {
      const name = qi[1].replaceAll("``", "`");
      if (name.length === 0) return fail11("empty identifier", qi[0].length);
      tokens.push({ _tag: "QuotedIdent", name, ...at2(qi[0].length) });
      advance(qi[0]);
      continue;
    }
    const ss = match2(singleString);
    if (ss) {
      tokens.push({ _tag: "String", value: ss[1].replaceAll("''", "'"), ...at2(ss[0].length) });
      advance(ss[0]);
      continue;
    }
    const ds = match2(doubleString);
    if (ds) {
      const value = parseJsonString(ds[0]);
      if (value === void 0) return fail11("invalid string (JSON escapes expected)", ds[0].length);
      tokens.push({ _tag: "String", value, ...at2(ds[0].length) });
      advance(ds[0]);
      continue;
    }
    const c = text[offset];
    if (c === "'" || c === '"' || c === "`") {
      const what = c === "`" ? "unterminated identifier" : "unterminated string";
      return fail11(what, text.length - offset);
    }
    const symbol = symbols.find((s) => text.startsWith(s, offset));
    if (symbol !== void 0) {
      tokens.push({ _tag: "Symbol", symbol, ...at2(symbol.length) });
      advance(symbol);
      continue;
    }
    const cp = text.codePointAt(offset) ?? 0;
    return fail11("unexpected character", String.fromCodePoint(cp).length);
  }
  tokens.push({ _tag: "End", text: "", line, column: offset - lineStart + 1 });
  return Either2.right(tokens);
};
var parseJsonString = (quoted) => {
  try {
    const value = JSON.parse(quoted);
    return typeof value === "string" ? value : void 0;
  } catch {
    return void 0;
  }
};

// packages/core/src/Dql/Parser.ts
var Parser_exports = {};
__export(Parser_exports, {
  parse: () => parse,
  parseEffect: () => parseEffect,
  parseExpression: () => parseExpression,
  parseExpressionEffect: () => parseExpressionEffect,
  reservedInExpression: () => reservedInExpression
});
import * as Effect3 from "effect/Effect";
import * as Either3 from "effect/Either";
var parse = (text) => run(text, (p) => p.statementEnd());
var parseEffect = (text) => Effect3.suspend(() => parse(text));
var parseExpression = (text) => run(text, (p) => p.expressionEnd());
var parseExpressionEffect = (text) => Effect3.suspend(() => parseExpression(text));
var run = (text, f) => Either3.flatMap(tokenize(text), (tokens) => {
  try {
    return Either3.right(f(new Parser(tokens)));
  } catch (e) {
    if (e instanceof DqlSyntaxError) return Either3.left(e);
    throw e;
  }
});
var reservedInExpression = /* @__PURE__ */ new Set([
  "AND",
  "OR",
  "NOT",
  "IN",
  "LIKE",
  "IS",
  "NULL",
  "MISSING",
  "TRUE",
  "FALSE",
  "SELECT",
  "FROM",
  "WHERE",
  "ORDER",
  "LIMIT",
  "OFFSET",
  "SET",
  "UNSET",
  "APPLY"
]);
var compareOps = /* @__PURE__ */ new Map([
  ["=", "="],
  ["==", "="],
  ["!=", "!="],
  ["<>", "!="],
  ["<", "<"],
  ["<=", "<="],
  [">", ">"],
  [">=", ">="]
]);
var arity = {
  length: [1, 1],
  lower: [1, 1],
  upper: [1, 1],
  abs: [1, 1],
  coalesce: [1, Infinity]
};
var isFunctionName = (name) => functionNames.some((f) => f === name);
var maxDepth = 200;
var asciiWord = /^[A-Za-z_]+$/;
var wordOf = (token) => token._tag === "Ident" && asciiWord.test(token.name) ? token.name.toUpperCase() : void 0;
var Parser = class {
  constructor(tokens) {
    this.tokens = tokens;
  }
  tokens;
  pos = 0;
  depth = 0;
  // -- entry points ---------------------------------------------------------
  statementEnd() {
    const statement = this.statement();
    this.acceptSymbol(";");
    this.expectEnd();
    return statement;
  }
  expressionEnd() {
    const expr = this.expr();
    this.expectEnd();
    return expr;
  }
  // -- token helpers --------------------------------------------------------
  peek(ahead = 0) {
    return this.tokens[Math.min(this.pos + ahead, this.tokens.length - 1)];
  }
  next() {
    const token = this.peek();
    if (token._tag !== "End") this.pos++;
    return token;
  }
  /** `after 'WHERE'` — the context used when a rule has no better name */
  afterPrevious() {
    const prev = this.tokens[this.pos - 1];
    return prev === void 0 ? "at start of statement" : `after ${describe2(prev)}`;
  }
  fail(what, token = this.peek()) {
    throw syntaxError(what, token);
  }
  isKeyword(token, keyword) {
    return wordOf(token) === keyword;
  }
  atKeyword(keyword, ahead = 0) {
    return this.isKeyword(this.peek(ahead), keyword);
  }
  acceptKeyword(keyword) {
    if (!this.atKeyword(keyword)) return false;
    this.pos++;
    return true;
  }
  expectKeyword(keyword, context = this.afterPrevious()) {
    if (!this.acceptKeyword(keyword)) this.fail(`expected ${keyword} ${context}`);
  }
  atSymbol(symbol, ahead = 0) {
    const token = this.peek(ahead);
    return token._tag === "Symbol" && token.symbol === symbol;
  }
  acceptSymbol(symbol) {
    if (!this.atSymbol(symbol)) return false;
    this.pos++;
    return true;
  }
  expectSymbol(symbol, context = this.afterPrevious()) {
    if (!this.acceptSymbol(symbol)) this.fail(`expected '${symbol}' ${context}`);
  }
  expectEnd() {
    const token = this.peek();
    if (token._tag !== "End") this.fail("expected end of statement", token);
  }
  /** an identifier (keywords allowed) or a backquoted identifier */
  name(what, context = this.afterPrevious()) {
    const token = this.peek();
    if (token._tag === "Ident" || token._tag === "QuotedIdent") {
      this.pos++;
      return token.name;
    }
    return this.fail(`expected ${what} ${context}`);
  }
  commaList(item) {
    const items = [item()];
    while (this.acceptSymbol(",")) items.push(item());
    return items;
  }
  // -- statements -----------------------------------------------------------
  statement() {
    const token = this.peek();
    if (this.acceptKeyword("SELECT")) return this.select();
    if (this.acceptKeyword("INSERT")) return this.insert();
    if (this.acceptKeyword("UPDATE")) return this.update();
    if (this.acceptKeyword("DELETE")) return { _tag: "Delete", ...this.fromWhere("DELETE") };
    if (this.acceptKeyword("EVICT")) return { _tag: "Evict", ...this.fromWhere("EVICT") };
    if (this.acceptKeyword("CREATE")) return this.createIndex();
    if (this.acceptKeyword("DROP")) return this.dropIndex();
    if (this.acceptKeyword("EXPLAIN")) {
      if (!this.acceptKeyword("SELECT")) this.fail("expected SELECT after EXPLAIN");
      return { _tag: "Explain", statement: this.select() };
    }
    return this.fail("expected SELECT, INSERT, UPDATE, DELETE, EVICT, CREATE, DROP or EXPLAIN", token);
  }
  select() {
    const projection = this.projection();
    this.expectKeyword("FROM", "after projection");
    const collection = this.name("collection name", "after FROM");
    const where = this.where();
    let orderBy = [];
    if (this.acceptKeyword("ORDER")) {
      this.expectKeyword("BY", "after ORDER");
      orderBy = this.commaList(() => {
        const expr = this.expr();
        if (this.acceptKeyword("DESC")) return { expr, direction: "DESC" };
        this.acceptKeyword("ASC");
        return { expr, direction: "ASC" };
      });
    }
    const limit = this.acceptKeyword("LIMIT") ? this.count("LIMIT") : void 0;
    const offset = this.acceptKeyword("OFFSET") ? this.count("OFFSET") : void 0;
    return {
      _tag: "Select",
      collection,
      projection,
      ...where === void 0 ? {} : { where },
      orderBy,
      ...limit === void 0 ? {} : { limit },
      ...offset === void 0 ? {} : { offset }
    };
  }
  projection() {
    if (this.acceptSymbol("*")) return "*";
    if (this.atKeyword("FROM")) this.fail("expected '*' or a projection after SELECT");
    return this.commaList(() => {
      const expr = this.expr();
      if (!this.acceptKeyword("AS")) return { expr };
      return { expr, alias: this.name("alias", "after AS") };
    });
  }
  count(clause) {
    const token = this.next();
    if (token._tag === "Arg") return arg(token.name);
    if (token._tag === "Number" && Number.isSafeInteger(token.value)) return token.value;
    return this.fail(`${clause} expects a non-negative integer or an :argument`, token);
  }
  where() {
    return this.acceptKeyword("WHERE") ? this.expr() : void 0;
  }
  fromWhere(verb) {
    this.expectKeyword("FROM", `after ${verb}`);
    const collection = this.name("collection name", "after FROM");
    const where = this.where();
    return where === void 0 ? { collection } : { collection, where };
  }
  insert() {
    this.expectKeyword("INTO", "after INSERT");
    const collection = this.name("collection name", "after INTO");
    this.expectKeyword("DOCUMENTS", "after collection name");
    const documents = this.commaList(() => {
      const parenthesized = this.acceptSymbol("(");
      const token = this.peek();
      let document;
      if (token._tag === "Arg") {
        this.pos++;
        document = arg(token.name);
      } else if (this.atSymbol("{")) {
        document = this.objectLiteral();
      } else {
        return this.fail(`expected a document ({\u2026} or :argument) ${this.afterPrevious()}`);
      }
      if (parenthesized) this.expectSymbol(")", "after document");
      return document;
    });
    let onConflict = "FAIL";
    if (this.acceptKeyword("ON")) {
      this.expectKeyword("ID", "after ON");
      this.expectKeyword("CONFLICT", "after ON ID");
      if (this.acceptKeyword("FAIL")) onConflict = "FAIL";
      else if (this.acceptKeyword("DO")) {
        if (this.acceptKeyword("NOTHING")) onConflict = "DO NOTHING";
        else if (this.acceptKeyword("UPDATE")) onConflict = "DO UPDATE";
        else this.fail("expected NOTHING or UPDATE after DO");
      } else this.fail("expected FAIL, DO NOTHING or DO UPDATE after ON ID CONFLICT");
    }
    return { _tag: "Insert", collection, documents, onConflict };
  }
  update() {
    const collection = this.name("collection name", "after UPDATE");
    const set3 = [];
    const unset2 = [];
    const apply = [];
    const seen = [];
    const path = () => {
      const token = this.peek();
      const p = this.path();
      const clash = seen.find((s) => isPrefix(s.path, p) || isPrefix(p, s.path));
      if (clash) this.fail(`path ${p.join(".")} overlaps ${clash.path.join(".")} in the same UPDATE`, token);
      seen.push({ path: p, token });
      return p;
    };
    for (; ; ) {
      if (this.acceptKeyword("SET")) {
        set3.push(...this.commaList(() => {
          const p = path();
          this.expectSymbol("=", "after field path in SET");
          return { path: p, expr: this.expr() };
        }));
      } else if (this.acceptKeyword("UNSET")) {
        unset2.push(...this.commaList(path));
      } else if (this.acceptKeyword("APPLY")) {
        apply.push(...this.commaList(() => {
          const p = path();
          this.expectKeyword("PN_INCREMENT", "after field path in APPLY");
          this.expectKeyword("BY", "after PN_INCREMENT");
          return { path: p, by: this.expr() };
        }));
      } else break;
    }
    if (seen.length === 0) this.fail("expected SET, UNSET or APPLY after collection name");
    const where = this.where();
    return { _tag: "Update", collection, set: set3, unset: unset2, apply, ...where === void 0 ? {} : { where } };
  }
  createIndex() {
    this.expectKeyword("INDEX", "after CREATE");
    let ifNotExists = false;
    if (this.acceptKeyword("IF")) {
      this.expectKeyword("NOT", "after IF");
      this.expectKeyword("EXISTS", "after IF NOT");
      ifNotExists = true;
    }
    const name = this.name("index name");
    this.expectKeyword("ON", "after index name");
    const collection = this.name("collection name", "after ON");
    this.expectSymbol("(", "after collection name");
    const path = this.path();
    this.expectSymbol(")", "after indexed path");
    return { _tag: "CreateIndex", name, collection, path, ifNotExists };
  }
  dropIndex() {
    this.expectKeyword("INDEX", "after DROP");
    let ifExists = false;
    if (this.acceptKeyword("IF")) {
      this.expectKeyword("EXISTS", "after IF");
      ifExists = true;
    }
    return { _tag: "DropIndex", name: this.name("index name"), ifExists };
  }
  /** `a.b`, `` a.`x y` ``, `a['b']` — first segment may be any identifier */
  path() {
    return this.pathFrom(this.name("field path"));
  }
  pathFrom(first) {
    const segments = [first];
    for (; ; ) {
      if (this.acceptSymbol(".")) {
        segments.push(this.name("field name", "after '.'"));
      } else if (this.atSymbol("[")) {
        this.pos++;
        const token = this.next();
        if (token._tag !== "String") this.fail("expected a quoted field name after '['", token);
        if (token.value === "") this.fail("empty field name", token);
        segments.push(token.value);
        this.expectSymbol("]", "after field name");
      } else {
        return segments;
      }
    }
  }
  // -- expressions ----------------------------------------------------------
  expr() {
    if (++this.depth > maxDepth) this.fail("expression nested too deeply");
    try {
      return this.or();
    } finally {
      this.depth--;
    }
  }
  or() {
    let left8 = this.and();
    while (this.acceptKeyword("OR")) left8 = or(left8, this.and());
    return left8;
  }
  and() {
    let left8 = this.not();
    while (this.acceptKeyword("AND")) left8 = and(left8, this.not());
    return left8;
  }
  not() {
    if (this.acceptKeyword("NOT")) return this.nested(() => not(this.not()));
    return this.comparison();
  }
  comparison() {
    const left8 = this.additive();
    const token = this.peek();
    if (token._tag === "Symbol") {
      const op = compareOps.get(token.symbol);
      if (op !== void 0) {
        this.pos++;
        return compare(op, left8, this.additive());
      }
    }
    if (this.acceptKeyword("IS")) {
      const negated2 = this.acceptKeyword("NOT");
      if (this.acceptKeyword("NULL")) return is(left8, "NULL", negated2);
      if (this.acceptKeyword("MISSING")) return is(left8, "MISSING", negated2);
      return this.fail(`expected NULL or MISSING after ${negated2 ? "IS NOT" : "IS"}`);
    }
    const negated = this.atKeyword("NOT") && (this.atKeyword("IN", 1) || this.atKeyword("LIKE", 1));
    if (negated) this.pos++;
    if (this.acceptKeyword("IN")) return isIn(left8, this.inList(), negated);
    if (this.acceptKeyword("LIKE")) return like(left8, this.additive(), negated);
    return left8;
  }
  inList() {
    const token = this.peek();
    if (this.acceptSymbol("(")) {
      const items = this.atSymbol(")") ? [] : this.commaList(() => this.expr());
      this.expectSymbol(")", "after IN list");
      return array(items);
    }
    if (this.atSymbol("[")) return this.arrayLiteral();
    if (token._tag === "Arg") {
      this.pos++;
      return arg(token.name);
    }
    if (token._tag === "QuotedIdent" || token._tag === "Ident" && !reservedInExpression.has(wordOf(token) ?? "")) {
      this.pos++;
      return { _tag: "Field", path: this.pathFrom(token.name) };
    }
    return this.fail("expected '(', '[', an :argument or a field path after IN");
  }
  additive() {
    let left8 = this.multiplicative();
    for (; ; ) {
      if (this.acceptSymbol("+")) left8 = arith("+", left8, this.multiplicative());
      else if (this.acceptSymbol("-")) left8 = arith("-", left8, this.multiplicative());
      else return left8;
    }
  }
  multiplicative() {
    let left8 = this.unary();
    for (; ; ) {
      if (this.acceptSymbol("*")) left8 = arith("*", left8, this.unary());
      else if (this.acceptSymbol("/")) left8 = arith("/", left8, this.unary());
      else if (this.acceptSymbol("%")) left8 = arith("%", left8, this.unary());
      else return left8;
    }
  }
  unary() {
    if (!this.acceptSymbol("-")) return this.primary();
    const token = this.peek();
    if (token._tag === "Number") {
      this.pos++;
      return literal(token.value === 0 ? 0 : -token.value);
    }
    return this.nested(() => neg(this.unary()));
  }
  nested(f) {
    if (++this.depth > maxDepth) this.fail("expression nested too deeply");
    try {
      return f();
    } finally {
      this.depth--;
    }
  }
  primary() {
    const token = this.peek();
    switch (token._tag) {
      case "Number":
      case "String":
        this.pos++;
        return literal(token.value);
      case "Arg":
        this.pos++;
        return arg(token.name);
      case "QuotedIdent":
        this.pos++;
        return { _tag: "Field", path: this.pathFrom(token.name) };
      case "Ident": {
        const upper = wordOf(token) ?? "";
        if (upper === "TRUE" || upper === "FALSE" || upper === "NULL") {
          this.pos++;
          return literal(upper === "NULL" ? null : upper === "TRUE");
        }
        if (reservedInExpression.has(upper)) break;
        this.pos++;
        if (this.atSymbol("(")) return this.call(token);
        return { _tag: "Field", path: this.pathFrom(token.name) };
      }
      case "Symbol":
        if (token.symbol === "(") {
          this.pos++;
          const inner = this.expr();
          this.expectSymbol(")", "to close '('");
          return inner;
        }
        if (token.symbol === "[") return this.arrayLiteral();
        if (token.symbol === "{") return this.objectLiteral();
        break;
      case "End":
        break;
    }
    return this.fail(`expected an expression ${this.afterPrevious()}`);
  }
  call(nameToken) {
    const name = nameToken.name.toLowerCase();
    if (!isFunctionName(name)) {
      return this.fail(`unknown function ${nameToken.name} (known: ${functionNames.join(", ")})`, nameToken);
    }
    this.expectSymbol("(");
    const args = this.atSymbol(")") ? [] : this.commaList(() => this.expr());
    this.expectSymbol(")", `to close ${name}(`);
    const [min2, max3] = arity[name];
    if (args.length < min2 || args.length > max3) {
      const expected = max3 === Infinity ? `at least ${min2}` : `${min2}`;
      this.fail(`${name} takes ${expected} argument${min2 === 1 && max3 === 1 ? "" : "s"}`, nameToken);
    }
    return call(name, args);
  }
  arrayLiteral() {
    return this.nested(() => {
      this.expectSymbol("[");
      const items = this.atSymbol("]") ? [] : this.commaList(() => this.expr());
      this.expectSymbol("]", "to close '['");
      return array(items);
    });
  }
  objectLiteral() {
    return this.nested(() => {
      this.expectSymbol("{");
      const keys = /* @__PURE__ */ new Set();
      const fields = this.atSymbol("}") ? [] : this.commaList(() => {
        const token = this.next();
        if (token._tag !== "String" && token._tag !== "Ident" && token._tag !== "QuotedIdent") {
          return this.fail("expected a key in object literal", token);
        }
        const key = token._tag === "String" ? token.value : token.name;
        if (keys.has(key)) this.fail(`duplicate key ${JSON.stringify(key)} in object literal`, token);
        keys.add(key);
        if (this.peek()._tag === "Arg") {
          this.fail(`expected ':' after key ${describe2(token)} (write ': :name' for an argument)`);
        }
        this.expectSymbol(":", `after key ${describe2(token)}`);
        return { key, value: this.expr() };
      });
      this.expectSymbol("}", "to close '{'");
      return object(fields);
    });
  }
};
var isPrefix = (prefix, path) => prefix.length <= path.length && prefix.every((s, i) => path[i] === s);

// packages/core/src/Dql/Printer.ts
var Printer_exports = {};
__export(Printer_exports, {
  print: () => print,
  printExpr: () => printExpr,
  printName: () => printName,
  printPath: () => printPath,
  printString: () => printString
});
var print = (statement) => {
  switch (statement._tag) {
    case "Select":
      return printSelect(statement);
    case "Explain":
      return `EXPLAIN ${printSelect(statement.statement)}`;
    case "Insert": {
      const docs = statement.documents.map((d) => `(${printExpr(d)})`).join(", ");
      const conflict = statement.onConflict === "FAIL" ? "" : ` ON ID CONFLICT ${statement.onConflict}`;
      return `INSERT INTO ${printName(statement.collection)} DOCUMENTS ${docs}${conflict}`;
    }
    case "Update": {
      const parts = [`UPDATE ${printName(statement.collection)}`];
      if (statement.set.length > 0) {
        parts.push(`SET ${statement.set.map((a) => `${printPath(a.path)} = ${printExpr(a.expr)}`).join(", ")}`);
      }
      if (statement.unset.length > 0) parts.push(`UNSET ${statement.unset.map(printPath).join(", ")}`);
      if (statement.apply.length > 0) {
        parts.push(`APPLY ${statement.apply.map((a) => `${printPath(a.path)} PN_INCREMENT BY ${printExpr(a.by)}`).join(", ")}`);
      }
      return parts.join(" ") + printWhere(statement.where);
    }
    case "Delete":
      return `DELETE FROM ${printName(statement.collection)}${printWhere(statement.where)}`;
    case "Evict":
      return `EVICT FROM ${printName(statement.collection)}${printWhere(statement.where)}`;
    case "CreateIndex":
      return `CREATE INDEX ${statement.ifNotExists ? "IF NOT EXISTS " : ""}${printName(statement.name)} ON ${printName(statement.collection)} (${printPath(statement.path)})`;
    case "DropIndex":
      return `DROP INDEX ${statement.ifExists ? "IF EXISTS " : ""}${printName(statement.name)}`;
  }
};
var printSelect = (s) => {
  const projection = s.projection === "*" ? "*" : s.projection.map((p) => printExpr(p.expr) + (p.alias === void 0 ? "" : ` AS ${printName(p.alias)}`)).join(", ");
  let text = `SELECT ${projection} FROM ${printName(s.collection)}${printWhere(s.where)}`;
  if (s.orderBy.length > 0) {
    text += ` ORDER BY ${s.orderBy.map((o) => `${printExpr(o.expr)} ${o.direction}`).join(", ")}`;
  }
  if (s.limit !== void 0) text += ` LIMIT ${printCount(s.limit)}`;
  if (s.offset !== void 0) text += ` OFFSET ${printCount(s.offset)}`;
  return text;
};
var printWhere = (where) => where === void 0 ? "" : ` WHERE ${printExpr(where)}`;
var printCount = (c) => typeof c === "number" ? String(c) : `:${c.name}`;
var printName = (name) => isPlainIdentifier(name) && !keywords.has(name.toUpperCase()) ? name : "`" + name.replaceAll("`", "``") + "`";
var printPath = (path) => path.map(printName).join(".");
var printString = (s) => `'${s.replaceAll("'", "''")}'`;
var OR = 1;
var AND = 2;
var NOT = 3;
var COMPARE = 4;
var ADD = 5;
var MUL = 6;
var UNARY = 7;
var PRIMARY = 8;
var precedence = (e) => {
  switch (e._tag) {
    case "Or":
      return OR;
    case "And":
      return AND;
    case "Not":
      return NOT;
    case "Compare":
    case "In":
    case "Like":
    case "Is":
      return COMPARE;
    case "Arith":
      return e.op === "+" || e.op === "-" ? ADD : MUL;
    case "Neg":
      return UNARY;
    default:
      return PRIMARY;
  }
};
var printExpr = (e) => at(e, OR);
var at = (e, min2) => {
  const text = render(e);
  return precedence(e) < min2 ? `(${text})` : text;
};
var render = (e) => {
  switch (e._tag) {
    case "Literal":
      return printScalar(e.value);
    case "Arg":
      return `:${e.name}`;
    case "Field":
      return printPath(e.path);
    case "ObjectLit":
      return `{${e.fields.map((f) => `${JSON.stringify(f.key)}: ${printExpr(f.value)}`).join(", ")}}`;
    case "ArrayLit":
      return `[${e.items.map(printExpr).join(", ")}]`;
    case "Call":
      return `${e.name}(${e.args.map(printExpr).join(", ")})`;
    case "Or":
      return `${at(e.left, OR)} OR ${at(e.right, AND)}`;
    case "And":
      return `${at(e.left, AND)} AND ${at(e.right, NOT)}`;
    case "Not":
      return `NOT ${at(e.expr, NOT)}`;
    case "Compare":
      return `${at(e.left, ADD)} ${e.op} ${at(e.right, ADD)}`;
    case "Is":
      return `${at(e.expr, ADD)} IS ${e.negated ? "NOT " : ""}${e.test}`;
    case "Like":
      return `${at(e.expr, ADD)} ${e.negated ? "NOT " : ""}LIKE ${at(e.pattern, ADD)}`;
    case "In": {
      const list = e.list._tag === "ArrayLit" ? `(${e.list.items.map(printExpr).join(", ")})` : render(e.list);
      return `${at(e.expr, ADD)} ${e.negated ? "NOT " : ""}IN ${list}`;
    }
    case "Arith": {
      const level = e.op === "+" || e.op === "-" ? ADD : MUL;
      return `${at(e.left, level)} ${e.op} ${at(e.right, level + 1)}`;
    }
    case "Neg": {
      const inner = at(e.expr, UNARY);
      const wrap = e.expr._tag === "Literal" && typeof e.expr.value === "number" || inner.startsWith("-");
      return wrap ? `-(${inner})` : `-${inner}`;
    }
  }
};
var printScalar = (value) => {
  if (value === null) return "NULL";
  if (typeof value === "boolean") return value ? "TRUE" : "FALSE";
  if (typeof value === "number") return String(value);
  return printString(value);
};

// packages/core/src/Dql/Sql.ts
var Sql_exports = {};
__export(Sql_exports, {
  indexExpression: () => indexExpression,
  jsonPath: () => jsonPath,
  split: () => split,
  toGlob: () => toGlob,
  toSql: () => toSql
});
var jsonPath = (path) => {
  let out = "$";
  for (const segment of path) {
    if (segment.includes("\0")) return void 0;
    out += /^[A-Za-z_][A-Za-z0-9_]*$/.test(segment) ? `.${segment}` : `.${JSON.stringify(segment)}`;
  }
  return out;
};
var sqlString = (s) => `'${s.replaceAll("'", "''")}'`;
var indexExpression = (path, column = "visible_json") => `json_extract(${column}, ${sqlString(jsonPath(path) ?? jsonPath(path.map((s) => s.replaceAll("\0", ""))) ?? "$")})`;
var toSql = (expr, args, column) => {
  const out = translate(expr, { args, column });
  return out === void 0 ? void 0 : { sql: out.sql, params: [...out.params] };
};
var split = (expr, args) => {
  const pushed = [];
  const residual = [];
  for (const c of conjuncts(expr)) {
    ;
    (translate(c, { args, column: "c" }) === void 0 ? residual : pushed).push(c);
  }
  return { pushed: conjunction(pushed), residual: conjunction(residual) };
};
var TRUE = { sql: "1", params: [] };
var FALSE = { sql: "0", params: [] };
var UNKNOWN_FRAG = { sql: "?", params: [null] };
var Unknown = /* @__PURE__ */ Symbol("Unknown");
var frag = (sql, ...params) => ({ sql, params });
var hasField = (e) => {
  switch (e._tag) {
    case "Field":
      return true;
    case "Literal":
    case "Arg":
      return false;
    case "ObjectLit":
      return e.fields.some((f) => hasField(f.value));
    case "ArrayLit":
      return e.items.some(hasField);
    case "Call":
      return e.args.some(hasField);
    case "Not":
    case "Neg":
      return hasField(e.expr);
    case "And":
    case "Or":
    case "Compare":
    case "Arith":
      return hasField(e.left) || hasField(e.right);
    case "In":
      return hasField(e.expr) || hasField(e.list);
    case "Like":
      return hasField(e.pattern) || hasField(e.expr);
    case "Is":
      return hasField(e.expr);
  }
};
var constant = (e, env) => {
  if (env.args === void 0) return exprArgNames(e).length > 0 ? Unknown : evalExpr(e, {}, {});
  return evalExpr(e, {}, env.args);
};
var and2 = (parts) => parts.length === 0 ? TRUE : parts.length === 1 ? parts[0] : join2(parts, " AND ");
var or2 = (parts) => parts.length === 0 ? FALSE : parts.length === 1 ? parts[0] : join2(parts, " OR ");
var join2 = (parts, sep) => ({
  sql: `(${parts.map((p) => p.sql).join(sep)})`,
  params: parts.flatMap((p) => p.params)
});
var negate = (f) => f === TRUE ? FALSE : f === FALSE ? TRUE : frag(`NOT coalesce(${f.sql}, 0)`, ...f.params);
var target = (e, env) => {
  if (e._tag !== "Field") return void 0;
  const path = jsonPath(e.path);
  if (path === void 0) return void 0;
  return { type: `json_type(${env.column}, ${sqlString(path)})`, value: indexExpression(e.path, env.column) };
};
var NUMBER_TYPES = "('integer', 'real')";
var translate = (e, env) => {
  if (!hasField(e)) {
    const value = constant(e, env);
    return value === Unknown ? UNKNOWN_FRAG : holds(value) ? TRUE : FALSE;
  }
  switch (e._tag) {
    case "And":
    case "Or": {
      const l = translate(e.left, env);
      const r = l && translate(e.right, env);
      if (l === void 0 || r === void 0) return void 0;
      return e._tag === "And" ? and2([l, r]) : or2([l, r]);
    }
    case "Not": {
      const inner = translate(e.expr, env);
      return inner && negate(inner);
    }
    case "Field": {
      const t = target(e, env);
      return t && frag(`(${t.value} = 1 AND ${t.type} = 'true')`);
    }
    case "Is": {
      const t = target(e.expr, env);
      if (t === void 0) return void 0;
      if (e.test === "MISSING") return frag(`${t.type} IS ${e.negated ? "NOT " : ""}NULL`);
      return e.negated ? frag(`${t.type} IS NOT 'null'`) : frag(`(${t.value} IS NULL AND ${t.type} = 'null')`);
    }
    case "Compare": {
      const lt = target(e.left, env);
      if (lt !== void 0 && !hasField(e.right)) return comparison(lt, e.op, constant(e.right, env));
      const rt = target(e.right, env);
      if (rt !== void 0 && !hasField(e.left)) return comparison(rt, flip[e.op], constant(e.left, env));
      return void 0;
    }
    case "In": {
      const t = target(e.expr, env);
      if (t === void 0 || hasField(e.list)) return void 0;
      const list = constant(e.list, env);
      if (list === Unknown) return UNKNOWN_FRAG;
      if (!Array.isArray(list)) return FALSE;
      const items = list;
      if (items.some((item) => typeof item === "object" && item !== null)) return void 0;
      return e.negated ? notIn(t, items) : isIn2(t, items);
    }
    case "Like": {
      const t = target(e.expr, env);
      if (t === void 0 || hasField(e.pattern)) return void 0;
      const pattern4 = constant(e.pattern, env);
      if (pattern4 === Unknown) return UNKNOWN_FRAG;
      if (typeof pattern4 !== "string") return FALSE;
      if (pattern4.includes("\0")) return void 0;
      const glob = toGlob(pattern4);
      return e.negated ? frag(`(${t.type} = 'text' AND NOT (${t.value} GLOB ?))`, glob) : frag(`(${t.type} = 'text' AND ${t.value} GLOB ?)`, glob);
    }
    default:
      return void 0;
  }
};
var flip = { "=": "=", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<=" };
var comparison = (t, op, value) => {
  if (value === Unknown) return UNKNOWN_FRAG;
  if (value === void 0 || value === null) return FALSE;
  if (typeof value === "number" || typeof value === "string") {
    const guard = typeof value === "number" ? `${t.type} IN ${NUMBER_TYPES}` : `${t.type} = 'text'`;
    if (op === "!=") return frag(`(${t.type} <> 'null' AND NOT (${guard} AND ${t.value} = ?))`, value);
    return frag(`(${guard} AND ${t.value} ${op} ?)`, value);
  }
  if (typeof value === "boolean") {
    const bools = [false, true].filter((b) => holdsBool(op, b, value));
    const names = bools.map((b) => `'${b}'`);
    if (op === "!=") return frag(`${t.type} NOT IN ('null', '${value}')`);
    return names.length === 0 ? FALSE : frag(`${t.type} IN (${names.join(", ")})`);
  }
  return op === "=" || op === "!=" ? void 0 : FALSE;
};
var holdsBool = (op, b, value) => {
  const c = Number(b) - Number(value);
  switch (op) {
    case "=":
      return c === 0;
    case "!=":
      return c !== 0;
    case "<":
      return c < 0;
    case "<=":
      return c <= 0;
    case ">":
      return c > 0;
    case ">=":
      return c >= 0;
  }
};
var isIn2 = (t, items) => {
  const numbers = items.filter((i) => typeof i === "number");
  const strings = items.filter((i) => typeof i === "string");
  const bools = [...new Set(items.filter((i) => typeof i === "boolean"))];
  const parts = [];
  const placeholders = (n) => Array.from({ length: n }, () => "?").join(", ");
  if (numbers.length > 0) {
    parts.push(frag(`(${t.type} IN ${NUMBER_TYPES} AND ${t.value} IN (${placeholders(numbers.length)}))`, ...numbers));
  }
  if (strings.length > 0) {
    parts.push(frag(`(${t.type} = 'text' AND ${t.value} IN (${placeholders(strings.length)}))`, ...strings));
  }
  if (bools.length > 0) parts.push(frag(`${t.type} IN (${bools.map((b) => `'${b}'`).join(", ")})`));
  return or2(parts);
};
var notIn = (t, items) => {
  if (items.length === 0) return TRUE;
  if (items.some((i) => i === null)) return FALSE;
  const inner = isIn2(t, items);
  return frag(`(${t.type} <> 'null' AND NOT coalesce(${inner.sql}, 0))`, ...inner.params);
};
var toGlob = (pattern4) => parseLikePattern(pattern4).map((item) => {
  if (item === "%") return "*";
  if (item === "_") return "?";
  const c = item.char;
  return c === "*" || c === "?" || c === "[" ? `[${c}]` : c;
}).join("");

// packages/core/src/Protocol.ts
var Protocol_exports = {};
__export(Protocol_exports, {
  Ack: () => Ack,
  DeltaEntry: () => DeltaEntry,
  Deltas: () => Deltas,
  DocRef: () => DocRef,
  DocState: () => DocState,
  FrameReader: () => FrameReader,
  Goodbye: () => Goodbye,
  Hello: () => Hello,
  JsonObject: () => JsonObject2,
  MAX_FRAME_BYTES: () => MAX_FRAME_BYTES,
  Message: () => Message,
  PROTOCOL_VERSION: () => PROTOCOL_VERSION,
  Ping: () => Ping,
  Pong: () => Pong,
  Progress: () => Progress,
  ProtocolError: () => ProtocolError,
  ProtocolVersion: () => ProtocolVersion,
  Query: () => Query,
  Reject: () => Reject,
  Subscribe: () => Subscribe,
  Summary: () => Summary,
  SummaryEntry: () => SummaryEntry,
  VersionVector: () => VersionVector2,
  Welcome: () => Welcome,
  WriteRejected: () => WriteRejected,
  decode: () => decode,
  encode: () => encode2,
  frameLength: () => frameLength,
  negotiate: () => negotiate
});
import * as Either4 from "effect/Either";
import * as ParseResult from "effect/ParseResult";
import * as Schema10 from "effect/Schema";
import { Packr } from "msgpackr";
var MAX_FRAME_BYTES = 16 * 1024 * 1024;
var ProtocolVersion = Schema10.Struct({ major: Schema10.NonNegativeInt, minor: Schema10.NonNegativeInt });
var PROTOCOL_VERSION = { major: 1, minor: 0 };
var ProtocolError = class extends Schema10.TaggedError()("ProtocolError", {
  reason: Schema10.Literal("malformed", "oversized", "invalid"),
  message: Schema10.String
}) {
};
var STAMP = /^[0-9a-f]{32}$/;
var HLC = /^[0-9a-f]{16}$/;
var isPlainObject = (u) => {
  if (typeof u !== "object" || u === null) return false;
  const proto = Object.getPrototypeOf(u);
  return proto === Object.prototype || proto === null;
};
var Failure = class {
  path = [];
  reason = "";
  fail(reason) {
    this.reason = reason;
    this.path = [];
    return false;
  }
  at(key) {
    this.path.unshift(key);
    return false;
  }
  describe() {
    return this.path.length === 0 ? this.reason : `${formatPath(this.path)}: ${this.reason}`;
  }
};
var formatPath = (path) => path.map((k) => `[${typeof k === "string" ? JSON.stringify(truncate(k, 40)) : String(k)}]`).join("");
var atPath2 = (path, message) => path.length === 0 ? message : message.startsWith("[") ? `${formatPath(path)}${message}` : `${formatPath(path)}: ${message}`;
var truncate = (s, n) => s.length > n ? `${s.slice(0, n)}\u2026` : s;
var preview = (u) => {
  if (typeof u === "string") return JSON.stringify(truncate(u, 40));
  if (typeof u === "number" || typeof u === "boolean" || typeof u === "bigint" || u == null) return String(u);
  if (Array.isArray(u)) return `an array of ${u.length}`;
  if (isPlainObject(u)) {
    const keys = Object.keys(u);
    return `{${keys.slice(0, 5).map((k) => JSON.stringify(truncate(k, 20))).join(",")}${keys.length > 5 ? ",\u2026" : ""}}`;
  }
  if (typeof u === "object") return `an instance of ${u.constructor?.name ?? "an unknown class"}`;
  return typeof u;
};
var isStamp = (u) => typeof u === "string" && u.length === 32 && STAMP.test(u);
var isHlc = (u) => typeof u === "string" && u.length === 16 && HLC.test(u);
var isJson = (u, f) => {
  switch (typeof u) {
    case "string":
    case "number":
    case "boolean":
      return true;
    case "object": {
      if (u === null) return true;
      if (Array.isArray(u)) {
        for (let i = 0; i < u.length; i++) if (!isJson(u[i], f)) return f.at(i);
        return true;
      }
      if (!isPlainObject(u)) return f.fail(`expected a JSON value, got ${preview(u)}`);
      for (const key in u) if (!isJson(u[key], f)) return f.at(key);
      return true;
    }
    default:
      return f.fail(`expected a JSON value, got ${preview(u)}`);
  }
};
var isJsonObject = (u, f) => {
  if (!isPlainObject(u)) return f.fail(`expected a JSON object, got ${preview(u)}`);
  for (const key in u) if (!isJson(u[key], f)) return f.at(key);
  return true;
};
var isVersionVector = (u, f) => {
  if (!isPlainObject(u)) return f.fail(`expected a version vector, got ${preview(u)}`);
  for (const site2 in u) {
    if (!isHlc(u[site2])) return f.fail(`expected an HLC (16 hex digits), got ${preview(u[site2])}`) || f.at(site2);
  }
  return true;
};
var isRegister = (u, f) => {
  if (!isPlainObject(u)) return f.fail(`expected a register {s, v?}, got ${preview(u)}`);
  let hasStamp = false;
  for (const key in u) {
    const value = u[key];
    if (key === "s") {
      if (!isStamp(value)) return f.fail(`expected a stamp (32 hex digits), got ${preview(value)}`) || f.at("s");
      hasStamp = true;
    } else if (key === "v") {
      if (!isJson(value, f)) return f.at("v");
    } else return f.fail("is unexpected") || f.at(key);
  }
  return hasStamp || (f.fail("is missing") || f.at("s"));
};
var isCounterEntry = (u, f) => {
  if (!Array.isArray(u) || u.length !== 3) return f.fail(`expected a counter entry [sum, stamp, epoch], got ${preview(u)}`);
  if (typeof u[0] !== "number") return f.fail(`expected a number, got ${preview(u[0])}`) || f.at(0);
  if (!isStamp(u[1])) return f.fail(`expected a stamp (32 hex digits), got ${preview(u[1])}`) || f.at(1);
  if (u[2] !== "" && !isStamp(u[2])) return f.fail(`expected a stamp or "", got ${preview(u[2])}`) || f.at(2);
  return true;
};
var isCounter = (u, f) => {
  if (!isPlainObject(u)) return f.fail(`expected a counter {z?, e}, got ${preview(u)}`);
  let hasEntries = false;
  for (const key in u) {
    const value = u[key];
    if (key === "z") {
      if (!isStamp(value)) return f.fail(`expected a stamp (32 hex digits), got ${preview(value)}`) || f.at("z");
    } else if (key === "e") {
      if (!isPlainObject(value)) return f.fail(`expected counter entries, got ${preview(value)}`) || f.at("e");
      for (const site2 in value) if (!isCounterEntry(value[site2], f)) return f.at(site2) || f.at("e");
      hasEntries = true;
    } else return f.fail("is unexpected") || f.at(key);
  }
  return hasEntries || (f.fail("is missing") || f.at("e"));
};
var isSlot = (u, f) => {
  if (!isPlainObject(u)) return f.fail(`expected a slot {r?, m?, c?}, got ${preview(u)}`);
  for (const key in u) {
    const value = u[key];
    if (key === "r") {
      if (!isRegister(value, f)) return f.at("r");
    } else if (key === "m") {
      if (!isMapNode(value, f)) return f.at("m");
    } else if (key === "c") {
      if (!isCounter(value, f)) return f.at("c");
    } else return f.fail("is unexpected") || f.at(key);
  }
  return true;
};
var isMapNode = (u, f) => {
  if (!isPlainObject(u)) return f.fail(`expected a map {b?, f}, got ${preview(u)}`);
  let hasFields = false;
  for (const key in u) {
    const value = u[key];
    if (key === "b") {
      if (!isStamp(value)) return f.fail(`expected a stamp (32 hex digits), got ${preview(value)}`) || f.at("b");
    } else if (key === "f") {
      if (!isPlainObject(value)) return f.fail(`expected fields, got ${preview(value)}`) || f.at("f");
      for (const field2 in value) if (!isSlot(value[field2], f)) return f.at(field2) || f.at("f");
      hasFields = true;
    } else return f.fail("is unexpected") || f.at(key);
  }
  return hasFields || (f.fail("is missing") || f.at("f"));
};
var isSummaryEntry = (u, f) => {
  if (!isPlainObject(u)) return f.fail(`expected {collection, id, vv, evicted?}, got ${preview(u)}`);
  let required = 0;
  for (const key in u) {
    const value = u[key];
    switch (key) {
      case "collection":
      case "id":
        if (typeof value !== "string") return f.fail(`expected a string, got ${preview(value)}`) || f.at(key);
        required++;
        break;
      case "vv":
        if (!isVersionVector(value, f)) return f.at(key);
        required++;
        break;
      case "evicted":
        if (typeof value !== "boolean") return f.fail(`expected a boolean, got ${preview(value)}`) || f.at(key);
        break;
      default:
        return f.fail("is unexpected") || f.at(key);
    }
  }
  return required === 3 || missing(u, ["collection", "id", "vv"], f);
};
var isDeltaEntry = (u, f) => {
  if (!isPlainObject(u)) return f.fail(`expected {collection, id, base?, delta}, got ${preview(u)}`);
  let required = 0;
  for (const key in u) {
    const value = u[key];
    switch (key) {
      case "collection":
      case "id":
        if (typeof value !== "string") return f.fail(`expected a string, got ${preview(value)}`) || f.at(key);
        required++;
        break;
      case "delta":
        if (!isMapNode(value, f)) return f.at(key);
        required++;
        break;
      case "base":
        if (!isVersionVector(value, f)) return f.at(key);
        break;
      default:
        return f.fail("is unexpected") || f.at(key);
    }
  }
  return required === 3 || missing(u, ["collection", "id", "delta"], f);
};
var missing = (u, keys, f) => {
  for (const key of keys) if (!(key in u)) return f.fail("is missing") || f.at(key);
  return f.fail("is missing");
};
var declareFast = (identifier2, guard, arbitrary) => {
  const check = () => (input, _options, ast) => {
    const f = new Failure();
    return guard(input, f) ? ParseResult.succeed(input) : ParseResult.fail(new ParseResult.Type(ast, input, f.describe()));
  };
  return Schema10.declare([], { decode: check, encode: check }, {
    identifier: identifier2,
    arbitrary: () => arbitrary
  });
};
var hexArb = (fc, n) => fc.array(fc.constantFrom(..."0123456789abcdef"), { minLength: n, maxLength: n }).map((cs) => cs.join(""));
var keyArb = (fc) => fc.string({ maxLength: 8 }).filter((k) => k !== "__proto__");
var jsonArb = (fc, depth) => {
  const leaf = fc.oneof(
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Object.is(n, -0)),
    fc.string({ maxLength: 12 })
  );
  if (depth <= 0) return leaf;
  const inner = jsonArb(fc, depth - 1);
  return fc.oneof(
    { arbitrary: leaf, weight: 4 },
    { arbitrary: fc.array(inner, { maxLength: 4 }), weight: 1 },
    { arbitrary: jsonObjectArb(fc, inner), weight: 1 }
  );
};
var jsonObjectArb = (fc, value) => fc.uniqueArray(fc.tuple(keyArb(fc), value), { maxLength: 4, selector: ([k]) => k }).map((entries) => {
  const out = {};
  for (const [k, v] of entries) out[k] = v;
  return out;
});
var recordOf = (fc, key, value, maxLength) => fc.uniqueArray(fc.tuple(key, value), { maxLength, selector: ([k]) => k }).map((entries) => {
  const out = {};
  for (const [k, v] of entries) out[k] = v;
  return out;
});
var docStateArb = (fc, depth = 2) => {
  const stamp = hexArb(fc, 32).map(Stamp.make);
  const site2 = hexArb(fc, 16);
  const register = fc.record({ s: stamp, v: jsonArb(fc, 2) }, { requiredKeys: ["s"] });
  const entry = fc.tuple(
    fc.integer(),
    stamp,
    fc.oneof(fc.constant(""), stamp)
  );
  const counter2 = fc.record(
    { z: stamp, e: recordOf(fc, site2, entry, 3) },
    { requiredKeys: ["e"] }
  );
  const slot = depth > 0 ? fc.record({ r: register, m: docStateArb(fc, depth - 1), c: counter2 }, { requiredKeys: [] }) : fc.record({ r: register, c: counter2 }, { requiredKeys: [] });
  return fc.record({ b: stamp, f: recordOf(fc, keyArb(fc), slot, 4) }, { requiredKeys: ["f"] });
};
var versionVectorArb = (fc) => recordOf(fc, hexArb(fc, 16), hexArb(fc, 16).map(Hlc.make), 4);
var DocState = declareFast("DocState", isMapNode, (fc) => docStateArb(fc));
var VersionVector2 = declareFast("VersionVector", isVersionVector, (fc) => versionVectorArb(fc));
var JsonObject2 = declareFast(
  "JsonObject",
  isJsonObject,
  (fc) => jsonObjectArb(fc, jsonArb(fc, 2))
);
var Uint32 = Schema10.Int.pipe(Schema10.between(0, 4294967295), Schema10.annotations({ identifier: "Uint32" }));
var PositiveInt = Schema10.Int.pipe(Schema10.positive(), Schema10.annotations({ identifier: "PositiveInt" }));
var optional = (schema) => Schema10.optionalWith(schema, { exact: true });
var Hello = Schema10.TaggedStruct("Hello", {
  protocolVersion: ProtocolVersion,
  appIdHash: Uint32,
  siteId: SiteId,
  networkId: Uint32,
  deviceName: Schema10.String,
  token: optional(Schema10.String),
  relay: Schema10.Boolean
});
var Welcome = Schema10.TaggedStruct("Welcome", {
  protocolVersion: ProtocolVersion,
  siteId: SiteId,
  networkId: Uint32,
  deviceName: Schema10.String
});
var Reject = Schema10.TaggedStruct("Reject", { reason: Schema10.String });
var Query = Schema10.Struct({
  id: Schema10.String,
  collection: Schema10.String,
  /** DQL predicate text (the WHERE clause); absent = the whole collection. */
  where: optional(Schema10.String),
  args: JsonObject2
});
var Subscribe = Schema10.TaggedStruct("Subscribe", { queries: Schema10.Array(Query) });
var SummaryEntry = declareFast("SummaryEntry", isSummaryEntry, (fc) => fc.record({ collection: fc.string(), id: fc.string(), vv: versionVectorArb(fc), evicted: fc.boolean() }, {
  requiredKeys: ["collection", "id", "vv"]
}));
var Summary = Schema10.TaggedStruct("Summary", { docs: Schema10.Array(SummaryEntry) });
var DeltaEntry = declareFast("DeltaEntry", isDeltaEntry, (fc) => fc.record({ collection: fc.string(), id: fc.string(), base: versionVectorArb(fc), delta: docStateArb(fc) }, {
  requiredKeys: ["collection", "id", "delta"]
}));
var Progress = Schema10.Struct({
  queryId: Schema10.String,
  sent: Schema10.NonNegativeInt,
  total: Schema10.NonNegativeInt
});
var Deltas = Schema10.TaggedStruct("Deltas", {
  batch: PositiveInt,
  upToSeq: optional(Schema10.NonNegativeInt),
  docs: Schema10.Array(DeltaEntry),
  progress: optional(Progress)
});
var Ack = Schema10.TaggedStruct("Ack", {
  batch: Schema10.NonNegativeInt,
  upToSeq: optional(Schema10.NonNegativeInt)
});
var DocRef = Schema10.Struct({ collection: Schema10.String, id: Schema10.String });
var WriteRejected = Schema10.TaggedStruct("WriteRejected", {
  batch: Schema10.NonNegativeInt,
  reason: Schema10.String,
  docs: Schema10.Array(DocRef)
});
var Ping = Schema10.TaggedStruct("Ping", { n: Schema10.Number });
var Pong = Schema10.TaggedStruct("Pong", { n: Schema10.Number });
var Goodbye = Schema10.TaggedStruct("Goodbye", { reason: Schema10.String });
var Message = Schema10.Union(
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
);
var TAGS = /* @__PURE__ */ new Set([
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
]);
var negotiate = (hello) => {
  const theirs = hello.protocolVersion;
  return theirs.major === PROTOCOL_VERSION.major ? Either4.right({ major: PROTOCOL_VERSION.major, minor: Math.min(PROTOCOL_VERSION.minor, theirs.minor) }) : Either4.left(
    `unsupported protocol version ${theirs.major}.${theirs.minor} (this peer speaks ${PROTOCOL_VERSION.major}.x)`
  );
};
var packr = new Packr({ useRecords: false, variableMapSize: true, int64AsType: "number" });
var encode2 = (message) => packr.pack(message);
var validateMessage = Schema10.decodeUnknownEither(Message, { onExcessProperty: "error" });
var describeAst = (ast) => truncate(String(ast), 80);
var describeIssue = (issue, path) => {
  switch (issue._tag) {
    case "Pointer":
      return describeIssue(issue.issue, path.concat(issue.path));
    case "Composite":
      return describeIssue(Array.isArray(issue.issues) ? issue.issues[0] : issue.issues, path);
    case "Refinement":
      return issue.kind === "From" ? describeIssue(issue.issue, path) : atPath2(path, `expected ${describeAst(issue.ast)}, got ${preview(issue.actual)}`);
    case "Transformation":
      return describeIssue(issue.issue, path);
    case "Missing":
      return atPath2(path, "is missing");
    case "Unexpected":
      return atPath2(path, "is unexpected");
    case "Type":
    case "Forbidden":
      return atPath2(path, issue.message ?? `expected ${describeAst(issue.ast)}, got ${preview(issue.actual)}`);
  }
};
var invalid = (message) => Either4.left(new ProtocolError({ reason: "invalid", message }));
var errorText = (e) => truncate(e instanceof Error ? e.message : String(e), 200);
var decode = (bytes) => {
  if (bytes.byteLength > MAX_FRAME_BYTES) {
    return Either4.left(
      new ProtocolError({
        reason: "oversized",
        message: `frame of ${bytes.byteLength} bytes exceeds the limit of ${MAX_FRAME_BYTES}`
      })
    );
  }
  if (bytes.byteLength === 0) return Either4.left(new ProtocolError({ reason: "malformed", message: "empty frame" }));
  let value;
  let end = -1;
  try {
    packr.unpackMultiple(bytes, (first, _start, stop) => {
      value = first;
      end = stop ?? -1;
      return false;
    });
  } catch (e) {
    return Either4.left(new ProtocolError({ reason: "malformed", message: `not msgpack: ${errorText(e)}` }));
  }
  if (end !== bytes.byteLength) {
    return Either4.left(new ProtocolError({ reason: "malformed", message: "trailing bytes after the message" }));
  }
  if (!isPlainObject(value)) return invalid(`expected a message, got ${preview(value)}`);
  const tag = value["_tag"];
  if (typeof tag !== "string" || !TAGS.has(tag)) return invalid(`unknown message type ${preview(tag)}`);
  try {
    const result = validateMessage(value);
    if (Either4.isRight(result)) return Either4.right(result.right);
    const message = describeIssue(result.left.issue, []);
    return invalid(`${tag}${message.startsWith("[") ? "" : ": "}${message}`);
  } catch (e) {
    return invalid(`${tag}: ${errorText(e)}`);
  }
};
var frameLength = (bytes) => {
  const out = new Uint8Array(4 + bytes.byteLength);
  new DataView(out.buffer).setUint32(0, bytes.byteLength, false);
  out.set(bytes, 4);
  return out;
};
var FrameReader = class {
  constructor(maxFrameBytes = MAX_FRAME_BYTES) {
    this.maxFrameBytes = maxFrameBytes;
  }
  maxFrameBytes;
  chunks = [];
  /** Read offset into `chunks[0]`. */
  offset = 0;
  available = 0;
  /** Body length of the frame being read, or -1 while reading its prefix. */
  need = -1;
  error;
  /** Bytes received but not yet returned as frames. */
  get buffered() {
    return this.available;
  }
  push(chunk) {
    if (this.error !== void 0) return Either4.left(this.error);
    if (chunk.byteLength > 0) {
      this.chunks.push(chunk);
      this.available += chunk.byteLength;
    }
    const frames = [];
    while (true) {
      if (this.need < 0) {
        if (this.available < 4) break;
        const header = this.take(4);
        const length = (header[0] << 24 >>> 0) + (header[1] << 16) + (header[2] << 8) + header[3];
        if (length > this.maxFrameBytes) {
          this.error = new ProtocolError({
            reason: "oversized",
            message: `frame of ${length} bytes exceeds the limit of ${this.maxFrameBytes}`
          });
          this.chunks = [];
          this.available = 0;
          return Either4.left(this.error);
        }
        this.need = length;
      }
      if (this.available < this.need) break;
      frames.push(this.take(this.need));
      this.need = -1;
    }
    return Either4.right(frames);
  }
  /** Remove and return the next `n` bytes (n <= available); a view when they lie in one chunk. */
  take(n) {
    this.available -= n;
    const first = this.chunks[0];
    if (first === void 0) return new Uint8Array(0);
    if (first.byteLength - this.offset >= n) {
      const out2 = first.subarray(this.offset, this.offset + n);
      this.offset += n;
      if (this.offset === first.byteLength) {
        this.chunks.shift();
        this.offset = 0;
      }
      return out2;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0];
      const count2 = Math.min(n - filled, chunk.byteLength - this.offset);
      out.set(chunk.subarray(this.offset, this.offset + count2), filled);
      filled += count2;
      this.offset += count2;
      if (this.offset === chunk.byteLength) {
        this.chunks.shift();
        this.offset = 0;
      }
    }
    return out;
  }
};

// packages/core/src/Transport.ts
var Transport_exports = {};
__export(Transport_exports, {
  Transport: () => Transport,
  TransportError: () => TransportError
});
import * as Context2 from "effect/Context";
import * as Schema11 from "effect/Schema";
var TransportError = class extends Schema11.TaggedError()("TransportError", {
  address: Schema11.String,
  reason: Schema11.String
}) {
  get message() {
    return `${this.address}: ${this.reason}`;
  }
};
var Transport = class extends Context2.Tag("@shoal/core/Transport")() {
};

// packages/core/src/Permissions.ts
import * as Either5 from "effect/Either";
import * as Schema12 from "effect/Schema";
var Rule = Schema12.Struct({
  everything: Schema12.Boolean,
  queriesByCollection: Schema12.Record({ key: Schema12.String, value: Schema12.Array(Schema12.String) })
});
var Permissions = Schema12.Struct({ read: Rule, write: Rule });
var PermissionQueryError = class extends Schema12.TaggedError()("PermissionQueryError", {
  access: Schema12.Literal("read", "write"),
  collection: Schema12.String,
  query: Schema12.String,
  /** What is wrong, with the position when it is a syntax error. */
  reason: Schema12.String,
  /** 1-based position in `query` of a syntax error. */
  line: Schema12.optionalWith(Schema12.Number, { exact: true }),
  column: Schema12.optionalWith(Schema12.Number, { exact: true })
}) {
  /** `invalid read permission query for collection "tasks" ("owner ="): <reason>` */
  get message() {
    return `invalid ${this.access} permission query for collection ${JSON.stringify(this.collection)} (${JSON.stringify(this.query)}): ${this.reason}`;
  }
};

// packages/store-sqlite/src/ReplicaStore.ts
import { NodeContext } from "@effect/platform-node";
import { SqliteClient, SqliteMigrator as SqliteMigrator2 } from "@effect/sql-sqlite-node";
import Database from "better-sqlite3";
import * as Context3 from "effect/Context";
import * as Effect5 from "effect/Effect";
import * as Layer2 from "effect/Layer";
import * as Schema14 from "effect/Schema";
import { mkdtempSync, rmSync as rmSync2 } from "node:fs";
import { tmpdir } from "node:os";
import { join as join3 } from "node:path";

// packages/store-sqlite/src/DocFold.ts
var DocFold_exports = {};
__export(DocFold_exports, {
  fold: () => fold
});
var fold = (existing, change, seq) => {
  const state = existing === void 0 ? change.delta : Document_exports.merge(existing.state, change.delta);
  const id = JSON.parse(change.id);
  const visible = Document_exports.materialize(state, id);
  return {
    collection: change.collection,
    id: change.id,
    state,
    stateJson: JSON.stringify(state),
    vvJson: JSON.stringify(Document_exports.versionVector(state)),
    visibleJson: visible === void 0 ? null : JSON.stringify(visible),
    visible,
    lastSeq: seq
  };
};

// packages/store-sqlite/src/Errors.ts
import * as Schema13 from "effect/Schema";
var StoreError = class extends Schema13.TaggedError()("StoreError", {
  operation: Schema13.String,
  detail: Schema13.String
}) {
  get message() {
    return `replica store: ${this.operation} failed: ${this.detail}`;
  }
};
var DocumentTooLarge = class extends Schema13.TaggedError()("DocumentTooLarge", {
  collection: Schema13.String,
  id: Schema13.String,
  bytes: Schema13.Number,
  limit: Schema13.Number
}) {
  get message() {
    return `document ${this.collection}/${this.id} is ${this.bytes} bytes, above the limit of ${this.limit} bytes`;
  }
};
var WARN_DOCUMENT_BYTES = 256 * 1024;
var MAX_DOCUMENT_BYTES = 5 * 1024 * 1024;

// packages/store-sqlite/src/Migrations.ts
import { SqlClient } from "@effect/sql";
import { SqliteMigrator } from "@effect/sql-sqlite-node";
import * as Effect4 from "effect/Effect";
var statements = (...sqls) => Effect4.flatMap(SqlClient.SqlClient, (sql) => Effect4.forEach(sqls, (s) => sql.unsafe(s), { discard: true }));
var migrations = SqliteMigrator.fromRecord({
  "1_replica": statements(
    // Append-only: one row per committed transaction. `collections` is a
    // comma-joined list for quick inspection; `payload` is the JSON of the changes.
    `CREATE TABLE ops (
      seq INTEGER PRIMARY KEY,
      txn_id TEXT NOT NULL,
      site_id TEXT NOT NULL,
      hlc TEXT NOT NULL,
      origin TEXT NOT NULL,
      collections TEXT NOT NULL,
      payload TEXT NOT NULL
    )`,
    // Materialized: CRDT state, its version vector and what readers see
    // (NULL when removed). Folding `ops` from seq 0 rebuilds it byte for byte.
    `CREATE TABLE docs (
      collection TEXT NOT NULL,
      id TEXT NOT NULL,
      state TEXT NOT NULL,
      vv TEXT NOT NULL,
      visible_json TEXT,
      last_seq INTEGER NOT NULL,
      PRIMARY KEY (collection, id)
    ) WITHOUT ROWID`,
    `CREATE INDEX docs_last_seq ON docs (last_seq)`,
    // Per remote site: last local seq it acknowledged, and the subscription
    // queries whose initial sync it completed.
    `CREATE TABLE cursors (
      remote_site TEXT PRIMARY KEY,
      acked_seq INTEGER NOT NULL,
      synced_queries TEXT NOT NULL DEFAULT '[]'
    )`,
    `CREATE TABLE peers (
      site_id TEXT PRIMARY KEY,
      network_id INTEGER NOT NULL,
      device_name TEXT NOT NULL,
      last_seen TEXT NOT NULL
    )`,
    `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
    `CREATE TABLE indexes (name TEXT PRIMARY KEY, collection TEXT NOT NULL, path TEXT NOT NULL)`
  )
});

// packages/store-sqlite/src/ReplicaStore.ts
var decodeOp = Schema14.decodeUnknownSync(Op_exports.Op);
var decodeChanges = Schema14.decodeUnknownSync(Schema14.parseJson(Op_exports.Op.fields.changes));
var decodeState = Schema14.decodeUnknownSync(Schema14.parseJson(Document_exports.DocStateSchema));
var SyncedQueries = Schema14.parseJson(Schema14.Array(Schema14.String));
var attempt2 = (operation, f) => Effect5.try({
  try: f,
  catch: (e) => new StoreError({ operation, detail: e instanceof Error ? e.message : String(e) })
});
var rowToRecord = (row) => {
  const visible = row.visible_json === null ? void 0 : JSON.parse(row.visible_json);
  return {
    collection: row.collection,
    id: row.id,
    state: decodeState(row.state),
    stateJson: row.state,
    vvJson: row.vv,
    visibleJson: row.visible_json,
    visible,
    lastSeq: row.last_seq
  };
};
var rowToOp = (row) => decodeOp({
  seq: row.seq,
  txnId: row.txn_id,
  siteId: row.site_id,
  hlc: row.hlc,
  origin: row.origin,
  changes: JSON.parse(row.payload)
});
var migrate = (filename) => Effect5.scoped(
  Layer2.build(
    SqliteMigrator2.layer({ loader: migrations }).pipe(
      Layer2.provide(NodeContext.layer),
      Layer2.provide(SqliteClient.layer({ filename }))
    )
  )
).pipe(
  Effect5.mapError((e) => new StoreError({ operation: `migrate ${filename}`, detail: String(e) })),
  // A failed migration is a defect in @effect/sql; surface it as a typed error.
  Effect5.catchAllDefect((d) => Effect5.fail(new StoreError({ operation: `migrate ${filename}`, detail: String(d) })))
);
var open = (options) => Effect5.gen(function* () {
  let filename = options.filename;
  if (filename === "memory") {
    const dir = mkdtempSync(join3(tmpdir(), "shoal-mem-"));
    yield* Effect5.addFinalizer(() => Effect5.sync(() => rmSync2(dir, { recursive: true, force: true })));
    filename = join3(dir, "replica.db");
  }
  yield* attempt2(`open ${filename}`, () => {
    const probe = new Database(filename, { fileMustExist: false });
    try {
      probe.prepare("SELECT count(*) FROM sqlite_master").get();
    } finally {
      probe.close();
    }
  });
  yield* migrate(filename);
  const db2 = yield* Effect5.acquireRelease(
    attempt2(`open ${filename}`, () => {
      const db3 = new Database(filename);
      db3.pragma("journal_mode = WAL");
      db3.pragma("synchronous = NORMAL");
      db3.pragma("busy_timeout = 5000");
      return db3;
    }),
    (db3) => Effect5.sync(() => db3.close())
  );
  return { db: db2, filename };
});
var makeStore = (options) => Effect5.gen(function* () {
  const { db: db2, filename } = yield* open(options);
  const getMeta = db2.prepare("SELECT value FROM meta WHERE key = ?");
  const setMeta = db2.prepare(
    "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"
  );
  const existingSite = getMeta.get("site_id")?.value;
  const siteId = existingSite !== void 0 ? SiteId_exports.unsafeFromString(existingSite) : options.siteId ?? (yield* SiteId_exports.make);
  if (existingSite === void 0) setMeta.run("site_id", siteId);
  const lastHlc = Hlc_exports.Hlc.make(getMeta.get("last_hlc")?.value ?? Hlc_exports.zero);
  const getDoc = db2.prepare(
    "SELECT collection, id, state, vv, visible_json, last_seq FROM docs WHERE collection = ? AND id = ?"
  );
  const getVisible = db2.prepare(
    "SELECT visible_json FROM docs WHERE collection = ? AND id = ?"
  );
  const upsertDoc = db2.prepare(
    `INSERT INTO docs (collection, id, state, vv, visible_json, last_seq) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (collection, id) DO UPDATE SET state = excluded.state, vv = excluded.vv,
         visible_json = excluded.visible_json, last_seq = excluded.last_seq`
  );
  const deleteDoc = db2.prepare("DELETE FROM docs WHERE collection = ? AND id = ?");
  const insertOp = db2.prepare(
    "INSERT INTO ops (seq, txn_id, site_id, hlc, origin, collections, payload) VALUES (?, ?, ?, ?, ?, ?, ?)"
  );
  const maxSeq = db2.prepare("SELECT max(seq) AS seq FROM ops");
  const opsAfter = db2.prepare(
    "SELECT seq, txn_id, site_id, hlc, origin, payload FROM ops WHERE seq > ? ORDER BY seq LIMIT ?"
  );
  const getCursor = db2.prepare(
    "SELECT acked_seq, synced_queries FROM cursors WHERE remote_site = ?"
  );
  const setCursor = db2.prepare(
    `INSERT INTO cursors (remote_site, acked_seq, synced_queries) VALUES (?, ?, ?)
       ON CONFLICT (remote_site) DO UPDATE SET acked_seq = excluded.acked_seq, synced_queries = excluded.synced_queries`
  );
  let lastSeq = maxSeq.get()?.seq ?? 0;
  const writeCommits = db2.transaction((commits, hlc2) => {
    for (const { docs, evicted, op } of commits) {
      const collections = [...new Set(op.changes.map((c) => c.collection))].join(",");
      insertOp.run(op.seq, op.txnId, op.siteId, op.hlc, op.origin, collections, JSON.stringify(op.changes));
      for (const d of docs) upsertDoc.run(d.collection, d.id, d.stateJson, d.vvJson, d.visibleJson, d.lastSeq);
      for (const e of evicted) deleteDoc.run(e.collection, e.id);
    }
    setMeta.run("last_hlc", hlc2);
  });
  const selectCache = /* @__PURE__ */ new Map();
  const prepared = (text) => {
    let stmt = selectCache.get(text);
    if (stmt === void 0) {
      stmt = db2.prepare(text);
      if (selectCache.size > 256) selectCache.clear();
      selectCache.set(text, stmt);
    }
    return stmt;
  };
  const selectSql = (o) => `SELECT visible_json FROM docs WHERE collection = ? AND visible_json IS NOT NULL` + (o.where === void 0 ? "" : ` AND (${o.where.sql})`) + (o.orderBy === void 0 ? "" : ` ORDER BY ${o.orderBy}`) + (o.limit === void 0 && o.offset === void 0 ? "" : ` LIMIT ${o.limit ?? -1}`) + (o.offset === void 0 ? "" : ` OFFSET ${o.offset}`);
  const scanDocsStmt = db2.prepare(
    `SELECT collection, id, state, vv, visible_json, last_seq FROM docs
       WHERE collection = ? AND id > ? ORDER BY id LIMIT ?`
  );
  const scanAllStmt = db2.prepare(
    `SELECT collection, id, state, vv, visible_json, last_seq FROM docs
       WHERE (collection, id) > (?, ?) OR collection > ? ORDER BY collection, id LIMIT ?`
  );
  return {
    filename,
    siteId,
    /** Highest HLC this replica had issued or seen when it was last committed. */
    lastHlc,
    /** Highest committed seq (0 when empty). Only the Replica actor advances it. */
    lastSeq: () => lastSeq,
    getDoc: (collection, id) => attempt2("read document", () => {
      const row = getDoc.get(collection, id);
      return row === void 0 ? void 0 : rowToRecord(row);
    }),
    /** The JSON text readers see for one document (fast path for point reads). */
    getVisibleJson: (collection, id) => getVisible.get(collection, id)?.visible_json ?? void 0,
    /** Append ops and write their document rows in one transaction. */
    commit: (commits, hlc2) => attempt2("commit", () => {
      writeCommits(commits, hlc2);
      const top = commits[commits.length - 1];
      if (top !== void 0) lastSeq = top.op.seq;
    }),
    /** Visible documents of a collection, filtered/sorted by SQLite where the caller could push it. */
    selectVisible: (o) => attempt2("select", () => prepared(selectSql(o)).all(o.collection, ...o.where?.params ?? []).map((r) => r.visible_json)),
    explain: (o) => attempt2("explain", () => db2.prepare(`EXPLAIN QUERY PLAN ${selectSql(o)}`).all(o.collection, ...o.where?.params ?? []).map((r) => r.detail)),
    /** Documents of a collection in id order after `afterId` (initial sync scans). */
    scanDocs: (collection, afterId, limit) => attempt2("scan documents", () => scanDocsStmt.all(collection, afterId, limit).map(rowToRecord)),
    /** Documents of every collection in (collection, id) order after the given key. */
    scanAllDocs: (afterCollection, afterId, limit) => attempt2("scan documents", () => scanAllStmt.all(afterCollection, afterId, afterCollection, limit).map(rowToRecord)),
    /** Ops with seq > `afterSeq`, oldest first. */
    readOps: (afterSeq, limit) => attempt2("read ops", () => opsAfter.all(afterSeq, limit).map(rowToOp)),
    /** Raw op rows (for tools that must not fail on one bad row). */
    readOpRows: (afterSeq, limit) => attempt2("read ops", () => opsAfter.all(afterSeq, limit)),
    getCursor: (remoteSite) => attempt2("read cursor", () => {
      const row = getCursor.get(remoteSite);
      return row === void 0 ? { ackedSeq: 0, syncedQueries: [] } : { ackedSeq: row.acked_seq, syncedQueries: Schema14.decodeUnknownSync(SyncedQueries)(row.synced_queries) };
    }),
    setCursor: (remoteSite, cursor) => attempt2("write cursor", () => {
      setCursor.run(remoteSite, cursor.ackedSeq, JSON.stringify(cursor.syncedQueries));
    }),
    getMeta: (key) => attempt2("read meta", () => getMeta.get(key)?.value),
    setMeta: (key, value) => attempt2("write meta", () => void setMeta.run(key, value)),
    /** An expression index on a JSON path of one collection's visible documents. */
    createIndex: (name, collection, expression) => attempt2("create index", () => {
      const safe = name.replace(/[^A-Za-z0-9_]/g, "_");
      db2.exec(
        `CREATE INDEX IF NOT EXISTS "idx_${safe}" ON docs (collection, ${expression}) WHERE visible_json IS NOT NULL`
      );
      db2.exec("ANALYZE");
      db2.prepare("INSERT OR REPLACE INTO indexes (name, collection, path) VALUES (?, ?, ?)").run(
        name,
        collection,
        expression
      );
    }),
    dropIndex: (name, ifExists) => attempt2("drop index", () => {
      const known = db2.prepare("SELECT name FROM indexes WHERE name = ?").get(name);
      if (known === void 0) {
        if (ifExists) return;
        throw new Error(`no index named ${name}`);
      }
      db2.exec(`DROP INDEX IF EXISTS "idx_${name.replace(/[^A-Za-z0-9_]/g, "_")}"`);
      db2.prepare("DELETE FROM indexes WHERE name = ?").run(name);
    }),
    listIndexes: attempt2(
      "list indexes",
      () => db2.prepare("SELECT name, collection, path FROM indexes").all()
    ),
    countCollection: (collection) => attempt2("count", () => db2.prepare(
      "SELECT count(*) AS n FROM docs WHERE collection = ? AND visible_json IS NOT NULL"
    ).get(collection)?.n ?? 0),
    /** Count of visible documents (all collections). */
    countVisible: attempt2(
      "count",
      () => db2.prepare("SELECT count(*) AS n FROM docs WHERE visible_json IS NOT NULL").get()?.n ?? 0
    ),
    /** Every docs row in key order: the replay test compares these byte for byte. */
    dumpDocs: attempt2(
      "dump documents",
      () => db2.prepare("SELECT collection, id, state, vv, visible_json, last_seq FROM docs ORDER BY collection, id").all()
    )
  };
});
var ReplicaStore = class _ReplicaStore extends Context3.Tag("@shoal/store-sqlite/ReplicaStore")() {
  static make = makeStore;
  static layer = (options) => Layer2.scoped(_ReplicaStore, makeStore(options));
};
var applyOps = (store, ops) => Effect5.gen(function* () {
  const commits = [];
  const pending = /* @__PURE__ */ new Map();
  let hlc2 = store.lastHlc;
  for (const op of ops) {
    const docs = [];
    const evicted = [];
    for (const change of op.changes) {
      const key = `${change.collection}\0${change.id}`;
      if (Op_exports.isEviction(change)) {
        pending.delete(key);
        evicted.push({ collection: change.collection, id: change.id });
        continue;
      }
      const existing = pending.has(key) ? pending.get(key) : yield* store.getDoc(change.collection, change.id);
      const record = fold(existing, change, op.seq);
      pending.set(key, record);
      docs.push(record);
    }
    commits.push({ op, docs, evicted });
    hlc2 = Hlc_exports.max(hlc2, op.hlc);
  }
  yield* store.commit(commits, hlc2);
});

// packages/cli/src/Oplog.ts
import * as Effect9 from "effect/Effect";
import * as Schema15 from "effect/Schema";
import { resolve } from "node:path";

// packages/cli/src/internal/Open.ts
import Database2 from "better-sqlite3";
import * as Effect6 from "effect/Effect";
import { closeSync as closeSync2, openSync as openSync2, readSync, statSync } from "node:fs";
var SQLITE_HEADER = "SQLite format 3\0";
var describe3 = (e) => e instanceof Error ? e.message : String(e);
var checkReplicaFile = (path) => Effect6.try({
  try: () => {
    let size;
    try {
      const st = statSync(path);
      if (st.isDirectory()) return `${path} is a directory, not a replica file`;
      if (!st.isFile()) return `${path} is not a regular file`;
      size = st.size;
    } catch (e) {
      const code = e instanceof Error && "code" in e ? e.code : void 0;
      return code === "ENOENT" ? `no such file: ${path}` : `cannot open ${path}: ${describe3(e)}`;
    }
    if (size < SQLITE_HEADER.length) return `${path} is not a Shoal replica (not a SQLite database)`;
    const fd = openSync2(path, "r");
    const head2 = Buffer.alloc(SQLITE_HEADER.length);
    try {
      readSync(fd, head2, 0, head2.length, 0);
    } finally {
      closeSync2(fd);
    }
    if (head2.toString("latin1") !== SQLITE_HEADER) return `${path} is not a Shoal replica (not a SQLite database)`;
    const db2 = new Database2(path, { readonly: true, fileMustExist: true });
    try {
      const tables = new Set(
        db2.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all().map((r) => r.name)
      );
      if (!tables.has("ops") || !tables.has("docs")) {
        return `${path} is a SQLite database but not a Shoal replica (no ops/docs tables)`;
      }
    } finally {
      db2.close();
    }
    return void 0;
  },
  catch: (e) => new CliError({ message: `cannot read ${path}: ${describe3(e)}` })
}).pipe(
  Effect6.flatMap((problem) => problem === void 0 ? Effect6.void : Effect6.fail(new CliError({ message: problem })))
);
var openExisting = (path) => Effect6.zipRight(
  checkReplicaFile(path),
  ReplicaStore.make({ filename: path }).pipe(Effect6.mapError(fromError(void 0)))
);

// packages/cli/src/internal/Progress.ts
import * as Effect7 from "effect/Effect";
var FIRST_AFTER_MS = 500;
var TTY_EVERY_MS = 250;
var PIPE_EVERY_MS = 1e3;
var rate = (n, ms) => Math.round(ms > 0 ? n * 1e3 / ms : 0).toLocaleString("en-US");
var make3 = (label) => Effect7.map(Output, (out) => {
  const started = performance.now();
  let lastPrint = started;
  let printed = false;
  const every = out.stderrIsTTY ? TTY_EVERY_MS : PIPE_EVERY_MS;
  return {
    elapsedMs: () => performance.now() - started,
    /** `done` units of `total` (total may be an estimate). */
    update: (done, total, unit) => Effect7.suspend(() => {
      const now = performance.now();
      if (now - started < FIRST_AFTER_MS || now - lastPrint < every) return Effect7.void;
      lastPrint = now;
      printed = true;
      const pct = total > 0 ? Math.min(100, 100 * done / total).toFixed(1) : "?";
      const text = `${label}: ${pct}% (${done.toLocaleString("en-US")}/${total.toLocaleString("en-US")} ${unit}, ${rate(done, now - started)} ${unit}/s)`;
      return out.stderr(out.stderrIsTTY ? `\r${text}\x1B[K` : `${text}
`);
    }),
    /** Final line (always printed). */
    done: (summary) => out.stderr(out.stderrIsTTY && printed ? `\r${label}: ${summary}\x1B[K
` : `${label}: ${summary}
`)
  };
});

// packages/cli/src/internal/Replay.ts
import * as Effect8 from "effect/Effect";
var hasEviction = (op) => op.changes.some((c) => "evict" in c);
var applyChunk = (store, ops) => Effect8.gen(function* () {
  let start = 0;
  for (let i = 0; i < ops.length; i++) {
    if (hasEviction(ops[i])) {
      yield* applyOps(store, ops.slice(start, i + 1));
      start = i + 1;
    }
  }
  if (start < ops.length) yield* applyOps(store, start === 0 ? ops : ops.slice(start));
});

// packages/cli/src/internal/Table.ts
var cut = (text, max3) => max3 === void 0 || text.length <= max3 ? text : text.slice(0, Math.max(0, max3 - 1)) + "\u2026";
var render2 = (columns, rows) => {
  const cells = rows.map((row) => columns.map((c, i) => cut((row[i] ?? "").replace(/\s+/g, " "), c.maxWidth)));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => r[i].length)));
  const line = (values) => values.map((v, i) => columns[i].align === "right" ? v.padStart(widths[i]) : v.padEnd(widths[i])).join("  ").trimEnd();
  return [
    line(columns.map((c) => c.header)),
    line(widths.map((w) => "-".repeat(w))),
    ...cells.map(line)
  ].join("\n") + "\n";
};
var jsonCell = (value) => value === void 0 ? "" : typeof value === "string" ? value : JSON.stringify(value);

// packages/cli/src/internal/Until.ts
import * as Either6 from "effect/Either";
var ISO = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i;
var parse2 = (text) => {
  const t = text.trim();
  if (/^\d+$/.test(t)) {
    const seq = Number(t);
    return Number.isSafeInteger(seq) ? Either6.right({ _tag: "Seq", seq }) : Either6.left(`--until ${t} is not a valid seq number`);
  }
  if (ISO.test(t)) {
    const normal = t.replace(" ", "T");
    const zoned = /T/i.test(normal) && !/(?:Z|[+-]\d{2}:?\d{2})$/i.test(normal) ? normal + "Z" : normal;
    const ms = Date.parse(zoned);
    if (!Number.isNaN(ms)) return Either6.right({ _tag: "Time", ms, text: new Date(ms).toISOString() });
  }
  return Either6.left(
    `--until expects a seq number or an ISO time such as 2026-01-31T12:00:00Z, got '${text}'`
  );
};

// packages/cli/src/Oplog.ts
var CHUNK = 1e3;
var storeError = fromError(void 0);
var hlcTime = (hlc2) => {
  if (!/^[0-9a-f]{16}$/.test(hlc2)) return "?";
  const ms = Hlc_exports.millis(Hlc_exports.Hlc.make(hlc2));
  return ms <= 864e13 ? new Date(ms).toISOString() : "?";
};
var summarize = (payload) => {
  try {
    const changes = JSON.parse(payload);
    if (!Array.isArray(changes)) return { collections: "?", changes: "?" };
    const names = /* @__PURE__ */ new Set();
    for (const c of changes) {
      if (typeof c === "object" && c !== null && "collection" in c && typeof c.collection === "string") {
        names.add(c.collection);
      }
    }
    return { collections: [...names].join(","), changes: String(changes.length) };
  } catch {
    return { collections: "?", changes: "?" };
  }
};
var inspect = (db2, options) => Effect9.scoped(
  Effect9.gen(function* () {
    if (options.limit < 1) return yield* new CliError({ message: `--limit must be at least 1, got ${options.limit}` });
    if (options.from < 0) return yield* new CliError({ message: `--from must be a seq (0 or more), got ${options.from}` });
    const out = yield* Output;
    const store = yield* openExisting(db2);
    const rows = yield* store.readOpRows(Math.max(0, options.from - 1), options.limit).pipe(Effect9.mapError(storeError));
    const cells = rows.map((r) => {
      const s = summarize(r.payload);
      return [String(r.seq), r.txn_id, r.site_id, hlcTime(r.hlc), r.origin, s.collections, s.changes];
    });
    yield* out.stdout.write(
      render2(
        [
          { header: "seq", align: "right" },
          { header: "txn" },
          { header: "site" },
          { header: "time" },
          { header: "origin" },
          { header: "collections", maxWidth: 48 },
          { header: "changes", align: "right" }
        ],
        cells
      )
    );
    yield* out.stdout.flush;
    const last = store.lastSeq();
    const first = rows[0];
    const top = rows[rows.length - 1];
    yield* out.stderr(
      first === void 0 || top === void 0 ? `no ops${options.from > 0 ? ` from seq ${options.from}` : ""} (last seq ${last})
` : `seq ${first.seq}\u2013${top.seq} of ${last}${top.seq < last ? `; more with --from ${top.seq + 1}` : ""}
`
    );
  })
);
var encodeOp = Schema15.encode(Op_exports.Op);
var exportOps = (db2, options) => Effect9.scoped(
  Effect9.gen(function* () {
    const out = yield* Output;
    const store = yield* openExisting(db2);
    const sink = options.out === void 0 ? out.stdout : yield* fileSink(options.out, options.force);
    const progress = yield* make3("export");
    const last = store.lastSeq();
    let after2 = 0;
    let count2 = 0;
    for (; ; ) {
      const ops = yield* store.readOps(after2, CHUNK).pipe(Effect9.mapError(storeError));
      if (ops.length === 0) break;
      let text = "";
      for (const op of ops) {
        const encoded = yield* encodeOp(op).pipe(
          Effect9.mapError((e) => new CliError({ message: `op ${op.seq} does not match the op schema: ${e.message}` }))
        );
        text += JSON.stringify(encoded) + "\n";
      }
      yield* sink.write(text);
      count2 += ops.length;
      after2 = ops[ops.length - 1].seq;
      yield* progress.update(after2, last, "ops");
    }
    yield* sink.flush;
    if (options.out !== void 0 || progress.elapsedMs() > 1e3) {
      yield* progress.done(
        `${count2.toLocaleString("en-US")} ops${options.out === void 0 ? "" : ` to ${options.out}`} in ${(progress.elapsedMs() / 1e3).toFixed(2)} s`
      );
    }
  })
);
var replay = (db2, options) => Effect9.scoped(
  Effect9.gen(function* () {
    const until = yield* parse2(options.until).pipe(Effect9.mapError((message) => new CliError({ message })));
    if (resolve(options.out) === resolve(db2)) {
      return yield* new CliError({ message: "--out must name a new file, not the source replica" });
    }
    const source = yield* openExisting(db2);
    const last = source.lastSeq();
    if (until._tag === "Seq" && until.seq > last) {
      return yield* new CliError({ message: `--until ${until.seq} is past the end of the op log (last seq ${last})` });
    }
    const tmp = yield* atomicTarget(options.out, options.force);
    const target2 = yield* ReplicaStore.make({ filename: tmp }).pipe(Effect9.mapError(storeError));
    const progress = yield* make3("replay");
    const inRange = until._tag === "Seq" ? (op) => op.seq <= until.seq : (op) => Hlc_exports.millis(op.hlc) <= until.ms;
    const goal = until._tag === "Seq" ? until.seq : last;
    let after2 = 0;
    let count2 = 0;
    let firstSeq;
    let lastApplied;
    for (; ; ) {
      const ops = yield* source.readOps(after2, CHUNK).pipe(Effect9.mapError(storeError));
      if (ops.length === 0) break;
      let n = 0;
      while (n < ops.length && inRange(ops[n])) n++;
      const batch = n === ops.length ? ops : ops.slice(0, n);
      if (batch.length > 0) {
        yield* applyChunk(target2, batch).pipe(Effect9.mapError(storeError));
        firstSeq ??= batch[0].seq;
        lastApplied = batch[batch.length - 1].seq;
        count2 += batch.length;
      }
      if (n < ops.length) break;
      after2 = ops[ops.length - 1].seq;
      yield* progress.update(after2, goal, "ops");
    }
    const docs = yield* target2.countVisible.pipe(Effect9.mapError(storeError));
    const ms = progress.elapsedMs();
    const range = firstSeq === void 0 || lastApplied === void 0 ? "" : ` (seq ${firstSeq}\u2013${lastApplied})`;
    const point = until._tag === "Time" ? ` up to ${until.text}` : "";
    yield* progress.done(
      `${count2.toLocaleString("en-US")} ops${range}${point} \u2192 ${options.out}: ${docs.toLocaleString("en-US")} documents in ${(ms / 1e3).toFixed(2)} s (${rate(count2, ms)} ops/s)`
    );
  })
);

// packages/peer/src/Errors.ts
import * as Schema16 from "effect/Schema";
var DocumentExists = class extends Schema16.TaggedError()("DocumentExists", {
  collection: Schema16.String,
  id: Schema16.String
}) {
  get message() {
    return `a document with _id ${this.id} already exists in ${this.collection} (use ON ID CONFLICT DO UPDATE or DO NOTHING)`;
  }
};
var InvalidStatement = class extends Schema16.TaggedError()("InvalidStatement", {
  message: Schema16.String
}) {
};
var ReplicaStopped = class extends Schema16.TaggedError()("ReplicaStopped", {}) {
  get message() {
    return "the replica has stopped";
  }
};
var ReplicaDefect = class extends Schema16.TaggedError()("ReplicaDefect", { detail: Schema16.String }) {
  get message() {
    return `internal error while handling a command: ${this.detail}`;
  }
};

// packages/peer/src/Replica.ts
import "effect/Chunk";
import * as Clock from "effect/Clock";
import * as Context4 from "effect/Context";
import * as Deferred from "effect/Deferred";
import * as Effect13 from "effect/Effect";
import * as Either9 from "effect/Either";
import * as Layer3 from "effect/Layer";
import * as PubSub from "effect/PubSub";
import * as Queue from "effect/Queue";
import * as Stream from "effect/Stream";

// packages/peer/src/internal/DocSource.ts
import * as Effect10 from "effect/Effect";
var storeCandidates = (store, collection, where, args) => {
  const id = pointId(where, args);
  if (id !== void 0) {
    return Effect10.sync(() => {
      const json = store.getVisibleJson(collection, id);
      return json === void 0 ? [] : [JSON.parse(json)];
    });
  }
  const pushed = where === void 0 ? void 0 : Dql_exports.Sql.toSql(Dql_exports.Sql.split(where).pushed ?? TRUE2, args, "visible_json");
  return store.selectVisible({ collection, where: pushed }).pipe(
    Effect10.map((rows) => rows.map((row) => JSON.parse(row)))
  );
};
var TRUE2 = { _tag: "Literal", value: true };
var fromStore = (store) => ({
  get: (collection, id) => store.getDoc(collection, id),
  candidates: (collection, where, args) => storeCandidates(store, collection, where, args)
});
var overlay = (base, pending) => ({
  get: (collection, id) => {
    const hit = pending.get(docKey(collection, id));
    return hit !== void 0 ? Effect10.succeed(hit ?? void 0) : base.get(collection, id);
  },
  candidates: (collection, where, args) => Effect10.map(base.candidates(collection, where, args), (docs) => {
    if (pending.size === 0) return docs;
    const out = /* @__PURE__ */ new Map();
    for (const d of docs) out.set(idKey(d), d);
    for (const [key, rec] of pending) {
      if (!key.startsWith(collection + "\0")) continue;
      const id = key.slice(collection.length + 1);
      if (rec === null || rec.visible === void 0) out.delete(id);
      else out.set(id, rec.visible);
    }
    return [...out.values()];
  })
});
var docKey = (collection, id) => `${collection}\0${id}`;
var idKey = (doc) => canonicalId(doc._id ?? null);
var canonicalId = (id) => Json_exports.canonical(id);
var pointId = (where, args) => {
  if (where === void 0) return void 0;
  for (const c of Dql_exports.Ast.conjuncts(where)) {
    if (c._tag !== "Compare" || c.op !== "=") continue;
    const [field2, value] = c.left._tag === "Field" ? [c.left, c.right] : [c.right, c.left];
    if (field2._tag !== "Field" || field2.path.length !== 1 || field2.path[0] !== "_id") continue;
    if (value._tag === "Literal") return canonicalId(value.value);
    if (value._tag === "Arg" && args[value.name] !== void 0) return canonicalId(args[value.name]);
  }
  return void 0;
};

// packages/peer/src/internal/Execute.ts
import * as Effect11 from "effect/Effect";
import * as Either7 from "effect/Either";
import * as Random2 from "effect/Random";
var argError = (e) => Effect11.fail(e);
var checkArgs2 = (statement, args) => {
  const checked = Dql_exports.Evaluate.checkArgs(statement, args);
  return Either7.isLeft(checked) ? argError(checked.left) : Effect11.void;
};
var count = (c, args) => {
  if (c === void 0) return void 0;
  if (typeof c === "number") return c;
  const v = args[c.name];
  return typeof v === "number" ? v : void 0;
};
var matching = (source, collection, where, args) => Effect11.map(source.candidates(collection, where, args), (docs) => where === void 0 ? docs : docs.filter((d) => Dql_exports.Evaluate.matches(where, d, args)));
var select = (source, s, args) => Effect11.map(matching(source, s.collection, s.where, args), (docs) => {
  const page = Dql_exports.Evaluate.sortPage(docs, s.orderBy, count(s.limit, args), count(s.offset, args), args);
  return s.projection === "*" ? page : page.map((d) => Dql_exports.Evaluate.project(s.projection, d, args));
});
var newId = Effect11.map(
  Effect11.all([Random2.nextIntBetween(0, 2147483647), Random2.nextIntBetween(0, 2147483647)]),
  ([a, b]) => Date.now().toString(16).padStart(12, "0") + a.toString(16).padStart(8, "0") + b.toString(16).padStart(8, "0")
);
var documentsOf = (insert2, args) => Effect11.gen(function* () {
  const docs = [];
  for (const expr of insert2.documents) {
    const value = Dql_exports.Evaluate.evalExpr(expr, {}, args);
    const values = Array.isArray(value) ? value : [value];
    for (const v of values) {
      if (!Json_exports.isObject(v)) {
        return yield* new InvalidStatement({ message: `INSERT expects documents (objects), got ${JSON.stringify(v ?? null)}` });
      }
      docs.push(v);
    }
  }
  return docs;
});
var insert = (w, s, args) => Effect11.gen(function* () {
  const docs = yield* documentsOf(s, args);
  const stamp = w.stamp();
  const ids = [];
  for (const input of docs) {
    const doc = input._id === void 0 ? { _id: yield* newId, ...input } : input;
    const _id = doc._id;
    const id = canonicalId(_id);
    const existing = yield* w.source.get(s.collection, id);
    if (existing?.visible !== void 0) {
      if (s.onConflict === "DO NOTHING") continue;
      if (s.onConflict === "FAIL") return yield* new DocumentExists({ collection: s.collection, id });
    }
    yield* w.apply({ collection: s.collection, id, delta: Document_exports.fromJson(doc, stamp) });
    ids.push(_id);
  }
  return { queryType: "insert", items: [], mutatedDocumentIds: ids, warnings: [] };
});
var touchesId = (path) => path.length > 0 && path[0] === "_id";
var update = (w, s, args) => Effect11.gen(function* () {
  if ([...s.set.map((a) => a.path), ...s.unset, ...s.apply.map((a) => a.path)].some(touchesId)) {
    return yield* new InvalidStatement({ message: "_id cannot be changed by UPDATE" });
  }
  const docs = yield* matching(w.source, s.collection, s.where, args);
  const stamp = w.stamp();
  const ids = [];
  for (const doc of docs) {
    const id = canonicalId(doc._id ?? null);
    const record = yield* w.source.get(s.collection, id);
    if (record === void 0) continue;
    let state = record.state;
    let delta2 = Document_exports.empty();
    const step = (d) => {
      state = Document_exports.merge(state, d);
      delta2 = Document_exports.merge(delta2, d);
    };
    for (const a of s.set) {
      const value = Dql_exports.Evaluate.evalExpr(a.expr, doc, args);
      step(value === void 0 ? Document_exports.unset(state, a.path, stamp) : Document_exports.set(state, a.path, value, stamp));
    }
    for (const p of s.unset) step(Document_exports.unset(state, p, stamp));
    for (const a of s.apply) {
      const by = Dql_exports.Evaluate.evalExpr(a.by, doc, args);
      if (typeof by !== "number") {
        return yield* new InvalidStatement({ message: `PN_INCREMENT BY expects a number, got ${JSON.stringify(by ?? null)}` });
      }
      step(Document_exports.increment(state, a.path, by, w.site, stamp));
    }
    yield* w.apply({ collection: s.collection, id, delta: delta2 });
    ids.push(doc._id ?? null);
  }
  return { queryType: "update", items: [], mutatedDocumentIds: ids, warnings: [] };
});
var remove2 = (w, s, args) => Effect11.gen(function* () {
  const docs = yield* matching(w.source, s.collection, s.where, args);
  const stamp = w.stamp();
  const ids = [];
  for (const doc of docs) {
    yield* w.apply({ collection: s.collection, id: canonicalId(doc._id ?? null), delta: Document_exports.remove(stamp) });
    ids.push(doc._id ?? null);
  }
  return { queryType: "delete", items: [], mutatedDocumentIds: ids, warnings: [] };
});
var evict = (w, s, args) => Effect11.gen(function* () {
  const docs = yield* matching(w.source, s.collection, s.where, args);
  const ids = [];
  for (const doc of docs) {
    w.evict(s.collection, canonicalId(doc._id ?? null));
    ids.push(doc._id ?? null);
  }
  return { queryType: "unknown", items: [], mutatedDocumentIds: ids, warnings: [] };
});
var write = (w, statement, args) => {
  switch (statement._tag) {
    case "Insert":
      return insert(w, statement, args);
    case "Update":
      return update(w, statement, args);
    case "Delete":
      return remove2(w, statement, args);
    case "Evict":
      return evict(w, statement, args);
  }
};
var isWrite = (s) => s._tag === "Insert" || s._tag === "Update" || s._tag === "Delete" || s._tag === "Evict";

// packages/peer/src/internal/StatementCache.ts
import * as Effect12 from "effect/Effect";
import * as Either8 from "effect/Either";
var MAX = 1024;
var cache = /* @__PURE__ */ new Map();
var parseCached = (text) => {
  const hit = cache.get(text);
  if (hit !== void 0) return Effect12.succeed(hit);
  const parsed = Dql_exports.Parser.parse(text);
  if (Either8.isLeft(parsed)) return Effect12.fail(parsed.left);
  if (cache.size >= MAX) cache.delete(cache.keys().next().value);
  cache.set(text, parsed.right);
  return Effect12.succeed(parsed.right);
};

// packages/peer/src/Replica.ts
var MAILBOX = 4096;
var MAX_BATCH = 1024;
var make5 = Effect13.gen(function* () {
  const store = yield* ReplicaStore;
  const inbox = yield* Queue.bounded(MAILBOX);
  const stopped = yield* Deferred.make();
  const commits = yield* PubSub.unbounded();
  const clock = Hlc_exports.makeClock(store.lastHlc);
  const site2 = store.siteId;
  const base = fromStore(store);
  const handleBatch = (batch) => Effect13.gen(function* () {
    const pending = /* @__PURE__ */ new Map();
    const ctx = {
      store,
      pending,
      source: overlay(base, pending),
      commits: [],
      events: [],
      seq: () => store.lastSeq() + ctx.commits.length + 1,
      settle: []
    };
    for (const cmd of batch) {
      yield* cmd.run(ctx).pipe(
        Effect13.catchAllDefect((d) => cmd.fail(new ReplicaDefect({ detail: String(d) })))
      );
    }
    let failure;
    if (ctx.commits.length > 0) {
      const written = yield* Effect13.either(store.commit(ctx.commits, clock.last));
      if (Either9.isLeft(written)) {
        failure = written.left;
        yield* Effect13.logError("replica commit failed", written.left);
      }
    }
    for (const settle of ctx.settle) yield* settle(failure);
    if (failure === void 0) for (const e of ctx.events) yield* PubSub.publish(commits, e);
  });
  const loop = Queue.takeBetween(inbox, 1, MAX_BATCH).pipe(
    Effect13.flatMap(
      (batch) => Effect13.uninterruptible(handleBatch(batch)).pipe(
        Effect13.catchAllDefect((d) => Effect13.logError("replica batch defect", d))
      )
    ),
    Effect13.forever
  );
  yield* Effect13.addFinalizer(() => Deferred.fail(stopped, new ReplicaStopped()));
  yield* Effect13.forkScoped(loop);
  const submit = (cmd) => Queue.offer(inbox, cmd).pipe(Effect13.asVoid);
  const ask = (build2) => Effect13.gen(function* () {
    const reply = yield* Deferred.make();
    yield* submit(build2(reply));
    return yield* Deferred.await(reply);
  }).pipe(Effect13.raceFirst(Deferred.await(stopped)));
  const runTransaction = (body) => ask((reply) => ({
    fail: (e) => Deferred.fail(reply, e).pipe(Effect13.asVoid),
    run: (ctx) => Effect13.gen(function* () {
      const mine = /* @__PURE__ */ new Map();
      const source = overlay(ctx.source, mine);
      const seq = ctx.seq();
      const changes = [];
      const warnings = [];
      const now = yield* Clock.currentTimeMillis;
      let firstStamp;
      const writer = {
        source,
        site: site2,
        stamp: () => {
          const h = Hlc_exports.tick(clock, now);
          firstStamp ??= h;
          return Stamp_exports.make(h, site2);
        },
        apply: (change) => Effect13.gen(function* () {
          const key = docKey(change.collection, change.id);
          const existing = yield* source.get(change.collection, change.id).pipe(Effect13.orDie);
          const record = DocFold_exports.fold(existing, change, seq);
          const bytes = record.visibleJson?.length ?? 0;
          if (bytes > MAX_DOCUMENT_BYTES) {
            return yield* new DocumentTooLarge({ collection: change.collection, id: change.id, bytes, limit: MAX_DOCUMENT_BYTES });
          }
          if (bytes > WARN_DOCUMENT_BYTES) {
            warnings.push(`document ${change.collection}/${change.id} is ${bytes} bytes (above ${WARN_DOCUMENT_BYTES}); large documents sync slowly`);
          }
          mine.set(key, record);
          changes.push(change);
          return record;
        }),
        evict: (collection, id) => {
          mine.set(docKey(collection, id), null);
          changes.push({ collection, id, evict: true });
        }
      };
      const tx = {
        warnings,
        execute: (statement, args = {}) => Effect13.gen(function* () {
          const parsed = yield* parseCached(statement);
          yield* checkArgs2(parsed, args);
          if (isWrite(parsed)) {
            const r = yield* write(writer, parsed, args);
            return { ...r, warnings: [...r.warnings, ...warnings] };
          }
          return yield* readStatement(source, parsed, args);
        })
      };
      const outcome = yield* Effect13.either(body(tx));
      if (Either9.isLeft(outcome)) {
        yield* Deferred.fail(reply, outcome.left);
        return;
      }
      if (changes.length === 0) {
        ctx.settle.push(() => Deferred.succeed(reply, { value: outcome.right, seq: store.lastSeq(), warnings }));
        return;
      }
      for (const [k, v] of mine) ctx.pending.set(k, v);
      const op = {
        seq,
        txnId: Op_exports.txnId(site2, seq),
        siteId: site2,
        hlc: firstStamp ?? clock.last,
        origin: "local",
        changes
      };
      ctx.commits.push({
        op,
        docs: [...mine.values()].filter((r) => r !== null),
        evicted: changes.filter(Op_exports.isEviction).map(({ collection, id }) => ({ collection, id }))
      });
      ctx.events.push({
        seq,
        origin: "local",
        changes: changes.map((c) => Op_exports.isEviction(c) ? { collection: c.collection, id: c.id, evicted: true } : { collection: c.collection, id: c.id })
      });
      ctx.settle.push(
        (failure) => failure === void 0 ? Deferred.succeed(reply, { value: outcome.right, seq, warnings }) : Deferred.fail(reply, failure)
      );
    })
  }));
  const merge3 = (from, docs, policy) => ask((reply) => ({
    fail: (e) => Deferred.fail(reply, e).pipe(Effect13.asVoid),
    run: (ctx) => Effect13.gen(function* () {
      const seq = ctx.seq();
      const changes = [];
      const records = /* @__PURE__ */ new Map();
      const rejected = [];
      const incomplete = [];
      for (const doc of docs) {
        const key = docKey(doc.collection, doc.id);
        const existing = records.get(key) ?? (yield* ctx.source.get(doc.collection, doc.id).pipe(Effect13.orDie));
        const vv = existing === void 0 ? VersionVector_exports.empty : Document_exports.versionVector(existing.state);
        if (doc.base !== void 0 && !VersionVector_exports.dominates(vv, doc.base)) {
          incomplete.push({ collection: doc.collection, id: doc.id, vv });
          continue;
        }
        const fresh = Document_exports.delta(doc.delta, vv);
        if (fresh === void 0) continue;
        const change = { collection: doc.collection, id: doc.id, delta: fresh };
        const record = DocFold_exports.fold(existing, change, seq);
        if (policy !== void 0 && !policy.canWrite(doc.collection, existing?.visible, record.visible)) {
          rejected.push({ collection: doc.collection, id: doc.id });
          continue;
        }
        const top = Document_exports.maxStamp(fresh);
        if (top !== "") Hlc_exports.observe(clock, Stamp_exports.hlc(top));
        records.set(key, record);
        changes.push(change);
      }
      if (changes.length === 0) {
        yield* Deferred.succeed(reply, { seq: void 0, rejected, incomplete });
        return;
      }
      for (const [k, v] of records) ctx.pending.set(k, v);
      const now = yield* Clock.currentTimeMillis;
      const hlc2 = Hlc_exports.tick(clock, now);
      ctx.commits.push({
        op: { seq, txnId: Op_exports.txnId(site2, seq), siteId: site2, hlc: hlc2, origin: "sync", changes },
        docs: [...records.values()],
        evicted: []
      });
      ctx.events.push({ seq, origin: "sync", from, changes: changes.map(({ collection, id }) => ({ collection, id })) });
      ctx.settle.push(
        (failure) => failure === void 0 ? Deferred.succeed(reply, { seq, rejected, incomplete }) : Deferred.fail(reply, failure)
      );
    })
  }));
  const readStatement = (source, parsed, args) => {
    switch (parsed._tag) {
      case "Select":
        return Effect13.map(select(source, parsed, args), (items) => ({
          queryType: "select",
          items,
          mutatedDocumentIds: [],
          warnings: []
        }));
      case "Explain":
        return explain(parsed.statement, args);
      case "CreateIndex":
        return Effect13.as(
          store.createIndex(parsed.name, parsed.collection, Dql_exports.Sql.indexExpression(parsed.path)),
          { queryType: "unknown", items: [], mutatedDocumentIds: [], warnings: [] }
        );
      case "DropIndex":
        return Effect13.as(store.dropIndex(parsed.name, parsed.ifExists), {
          queryType: "unknown",
          items: [],
          mutatedDocumentIds: [],
          warnings: []
        });
      default:
        return Effect13.fail(new InvalidStatement({ message: `${parsed._tag} cannot run here` }));
    }
  };
  const explain = (s, args) => Effect13.gen(function* () {
    const split2 = s.where === void 0 ? { pushed: void 0, residual: void 0 } : Dql_exports.Sql.split(s.where);
    const pushed = split2.pushed === void 0 ? void 0 : Dql_exports.Sql.toSql(split2.pushed, args, "visible_json");
    const plan = yield* store.explain({ collection: s.collection, where: pushed });
    const index = plan.map((p) => /USING (?:COVERING )?INDEX (\S+)/.exec(p)?.[1]).find((x) => x !== void 0);
    const item = {
      collection: s.collection,
      pushedToSqlite: pushed?.sql ?? null,
      evaluatedInTypeScript: split2.residual === void 0 ? null : Dql_exports.Printer.printExpr(split2.residual),
      index: index ?? null,
      plan: [...plan]
    };
    return { queryType: "select", items: [item], mutatedDocumentIds: [], warnings: [] };
  });
  const execute = (statement, args = {}) => Effect13.gen(function* () {
    const parsed = yield* parseCached(statement);
    if (!isWrite(parsed)) {
      yield* checkArgs2(parsed, args);
      const r = yield* readStatement(base, parsed, args);
      return { ...r, transactionId: store.lastSeq() };
    }
    const { seq, value } = yield* runTransaction((tx) => tx.execute(statement, args));
    return { ...value, transactionId: seq };
  });
  const transaction = (body) => Effect13.map(runTransaction(body), ({ seq, value }) => ({ value, transactionId: seq }));
  const subscribe2 = PubSub.subscribe(commits);
  return {
    siteId: site2,
    store,
    execute,
    transaction,
    merge: merge3,
    subscribe: subscribe2,
    commitEvents: Stream.fromPubSub(commits),
    lastSeq: Effect13.sync(() => store.lastSeq()),
    /** Read-only statement against the committed state (used by observers). */
    read: (parsed, args) => select(base, parsed, args)
  };
});
var Replica = class _Replica extends Context4.Tag("@shoal/peer/Replica")() {
  static layer = Layer3.scoped(_Replica, make5);
};

// packages/peer/src/SmallPeer.ts
import * as Context5 from "effect/Context";
import * as Effect15 from "effect/Effect";
import * as Layer4 from "effect/Layer";
import { mkdirSync } from "node:fs";
import { join as join4 } from "node:path";

// packages/peer/src/Observe.ts
import * as Chunk2 from "effect/Chunk";
import * as Effect14 from "effect/Effect";
import * as Stream2 from "effect/Stream";
var observe2 = (replica, query3, args = {}) => Stream2.unwrapScoped(
  Effect14.gen(function* () {
    const parsed = yield* parseCached(query3);
    if (parsed._tag !== "Select") {
      return yield* new InvalidStatement({ message: "observe takes a SELECT statement" });
    }
    yield* checkArgs2(parsed, args);
    const commits = yield* replica.subscribe;
    const run6 = replica.read(parsed, args);
    const first = yield* run6;
    const later = Stream2.fromQueue(commits).pipe(
      Stream2.chunks,
      Stream2.filter(Chunk2.some((e) => e.changes.some((c) => c.collection === parsed.collection))),
      Stream2.mapEffect(() => run6)
    );
    let last = JSON.stringify(first);
    return Stream2.concat(Stream2.succeed(first), later).pipe(
      Stream2.filter((items) => {
        const text = JSON.stringify(items);
        if (items === first) return true;
        if (text === last) return false;
        last = text;
        return true;
      })
    );
  })
);

// packages/peer/src/SmallPeer.ts
var replicaPath = (persistenceDir, appId) => join4(persistenceDir, `shoal-${appId.replace(/[^A-Za-z0-9_.-]/g, "_")}.sqlite`);
var replicaFile = (options) => options.persistenceDir === "memory" ? Effect15.succeed("memory") : Effect15.try({
  try: () => {
    mkdirSync(options.persistenceDir, { recursive: true });
    return replicaPath(options.persistenceDir, options.appId);
  },
  catch: (e) => new StoreError({ operation: `create ${options.persistenceDir}`, detail: String(e) })
});
var makePeer = (options) => Effect15.gen(function* () {
  const replica = yield* Replica;
  return {
    appId: options.appId,
    deviceName: options.deviceName ?? `shoal-${replica.siteId.slice(0, 6)}`,
    siteId: replica.siteId,
    replica,
    /** Run one DQL statement. Writes are durable when this succeeds. */
    execute: replica.execute,
    /** Run several statements atomically (one op). */
    transaction: replica.transaction,
    /** Current result of a SELECT, then one per commit that changes it. */
    observe: (query3, args) => observe2(replica, query3, args)
  };
});
var SmallPeer = class _SmallPeer extends Context5.Tag("@shoal/peer/SmallPeer")() {
  /** A Small Peer with its store and replica actor (no transports). */
  static layer = (options) => Layer4.effect(_SmallPeer, makePeer(options)).pipe(
    Layer4.provideMerge(Replica.layer),
    Layer4.provideMerge(Layer4.unwrapEffect(Effect15.map(replicaFile(options), (filename) => ReplicaStore.layer({ filename }))))
  );
};

// packages/peer/src/Link.ts
import * as Chunk3 from "effect/Chunk";
import * as Deferred2 from "effect/Deferred";
import * as Duration from "effect/Duration";
import * as Effect16 from "effect/Effect";
import * as Either10 from "effect/Either";
import * as Option from "effect/Option";
import * as Queue2 from "effect/Queue";
import * as Schema17 from "effect/Schema";
import * as Stream3 from "effect/Stream";
import * as SubscriptionRef from "effect/SubscriptionRef";
var LinkError = class extends Schema17.TaggedError()("LinkError", {
  remote: Schema17.String,
  reason: Schema17.String
}) {
  get message() {
    return `link to ${this.remote}: ${this.reason}`;
  }
};
var LinkRejected = class extends Schema17.TaggedError()("LinkRejected", {
  remote: Schema17.String,
  reason: Schema17.String,
  byRemote: Schema17.Boolean
}) {
  get message() {
    return `link to ${this.remote} rejected${this.byRemote ? " by the remote" : ""}: ${this.reason}`;
  }
};
var allowAll = { canRead: () => true, canWrite: () => true };
var openAuth = { token: Effect16.succeed(void 0), admit: () => Effect16.succeed(allowAll) };
var hasTag = (m, tag) => m._tag === tag;
var docKey2 = (collection, id) => `${collection}\0${id}`;
var queryKey = (q) => JSON.stringify([q.collection, q.where ?? "", q.args]);
var compile = (q) => {
  if (q.where === void 0) return Either10.right({ query: q, where: void 0 });
  const parsed = Dql_exports.Parser.parseExpression(q.where);
  return Either10.isLeft(parsed) ? Either10.left(`bad subscription query ${JSON.stringify(q.where)}: ${parsed.left.message}`) : Either10.right({ query: q, where: parsed.right });
};
var ALL_COLLECTIONS = "*";
var matchesAny = (queries, collection, doc) => queries.some(
  (q) => (q.query.collection === collection || q.query.collection === ALL_COLLECTIONS) && (doc === void 0 || q.where === void 0 || Dql_exports.Evaluate.matches(q.where, doc, q.query.args))
);
var run2 = (deps) => Effect16.gen(function* () {
  const { auth, connection: conn, hooks, local, replica, store } = deps;
  const window = deps.options?.window ?? 8;
  const maxBatchDocs = deps.options?.maxBatchDocs ?? 500;
  const maxBatchBytes = deps.options?.maxBatchBytes ?? 1024 * 1024;
  const remoteName = conn.remoteAddress;
  const fail11 = (reason) => new LinkError({ remote: remoteName, reason });
  let framesSent = 0;
  let bytesSent = 0;
  let framesReceived = 0;
  let bytesReceived = 0;
  const bump = deps.stats === void 0 ? Effect16.void : SubscriptionRef.set(deps.stats, { framesSent, bytesSent, framesReceived, bytesReceived });
  const send = (msg) => Effect16.suspend(() => {
    const bytes = Protocol_exports.encode(msg);
    framesSent++;
    bytesSent += bytes.length;
    return conn.send(bytes);
  }).pipe(Effect16.mapError((e) => fail11(`send failed: ${e.reason}`)));
  const pull = yield* Stream3.toPull(conn.incoming.pipe(Stream3.rechunk(1)));
  const next = pull.pipe(
    Effect16.map(Chunk3.head),
    Effect16.catchAll(Option.match({
      onNone: () => Effect16.succeed(Option.none()),
      onSome: (e) => Effect16.fail(fail11(`connection lost: ${e.reason}`))
    })),
    Effect16.flatMap(Option.match({
      onNone: () => Effect16.succeed(Option.none()),
      onSome: (bytes) => {
        framesReceived++;
        bytesReceived += bytes.length;
        const decoded = Protocol_exports.decode(bytes);
        return Either10.isLeft(decoded) ? Effect16.fail(fail11(`bad frame (${decoded.left.reason}): ${decoded.left.message}`)) : Effect16.succeed(Option.some(decoded.right));
      }
    }))
  );
  const expect = (tag) => next.pipe(
    Effect16.timeoutFail({
      duration: deps.options?.handshakeTimeout ?? "10 seconds",
      onTimeout: () => fail11(`no ${tag} within the handshake timeout`)
    }),
    Effect16.flatMap((opt) => {
      if (Option.isNone(opt)) return Effect16.fail(fail11(`closed during handshake (waiting for ${tag})`));
      const m = opt.value;
      if (hasTag(m, tag)) return Effect16.succeed(m);
      if (m._tag === "Reject") return Effect16.fail(new LinkRejected({ remote: remoteName, reason: m.reason, byRemote: true }));
      return Effect16.fail(fail11(`expected ${tag}, got ${m._tag}`));
    })
  );
  const token = yield* auth.token;
  yield* send({
    _tag: "Hello",
    protocolVersion: Protocol_exports.PROTOCOL_VERSION,
    appIdHash: local.appIdHash,
    siteId: local.siteId,
    networkId: local.networkId,
    deviceName: local.deviceName,
    relay: local.relay,
    ...token === void 0 ? {} : { token }
  });
  const hello = yield* expect("Hello");
  const refuse = (reason) => send({ _tag: "Reject", reason }).pipe(
    Effect16.ignore,
    Effect16.zipRight(conn.close(reason)),
    Effect16.zipRight(Effect16.fail(new LinkRejected({ remote: remoteName, reason, byRemote: false })))
  );
  const version = Protocol_exports.negotiate(hello);
  if (Either10.isLeft(version)) return yield* refuse(version.left);
  if (hello.appIdHash !== local.appIdHash) return yield* refuse("different app");
  if (hello.siteId === local.siteId) return yield* refuse("connected to itself");
  const grant = yield* Effect16.either(auth.admit(hello));
  if (Either10.isLeft(grant)) return yield* refuse(grant.left);
  yield* send({
    _tag: "Welcome",
    protocolVersion: Protocol_exports.PROTOCOL_VERSION,
    siteId: local.siteId,
    networkId: local.networkId,
    deviceName: local.deviceName
  });
  yield* expect("Welcome");
  const remote = { siteId: hello.siteId, networkId: hello.networkId, deviceName: hello.deviceName, relay: hello.relay };
  const linkId = conn.id;
  const registered = yield* hooks.register(linkId, remote, deps.dialed, conn.close("duplicate link"));
  if (!registered) {
    yield* send({ _tag: "Goodbye", reason: "duplicate link" }).pipe(Effect16.ignore);
    yield* conn.close("duplicate link");
    return;
  }
  yield* Effect16.addFinalizer(() => hooks.unregister(linkId));
  const remoteSite = hello.siteId;
  const permissions = grant.right;
  const known = /* @__PURE__ */ new Map();
  const remoteEvicted = /* @__PURE__ */ new Set();
  let remoteQueries = [];
  const cursor = yield* store.getCursor(remoteSite).pipe(Effect16.mapError((e) => fail11(e.message)));
  let synced = new Set(cursor.syncedQueries);
  let sentSeq = cursor.ackedSeq;
  let ackedSeq = cursor.ackedSeq;
  const scans = [];
  const resend = [];
  let batchNo = 0;
  let expectedBatch = 1;
  const inflight = /* @__PURE__ */ new Map();
  const permits = yield* Effect16.makeSemaphore(window);
  const wake = yield* Queue2.sliding(1);
  const subscribed = yield* Deferred2.make();
  const poke = Queue2.offer(wake, void 0);
  const persistCursor = store.setCursor(remoteSite, { ackedSeq, syncedQueries: [...synced] }).pipe(
    Effect16.mapError((e) => fail11(e.message))
  );
  const batch = { entries: [], bytes: 0 };
  const flush = (meta) => Effect16.gen(function* () {
    if (batch.entries.length === 0 && meta.upToSeq === void 0 && meta.scanDone === void 0) return;
    yield* permits.take(1);
    batchNo++;
    inflight.set(batchNo, { ...meta.upToSeq === void 0 ? {} : { upToSeq: meta.upToSeq }, ...meta.scanDone === void 0 ? {} : { scanDone: meta.scanDone } });
    const docs = batch.entries;
    batch.entries = [];
    batch.bytes = 0;
    yield* send({
      _tag: "Deltas",
      batch: batchNo,
      docs,
      ...meta.upToSeq === void 0 ? {} : { upToSeq: meta.upToSeq },
      ...meta.progress === void 0 ? {} : { progress: meta.progress }
    });
    yield* bump;
  });
  const offerDoc = (collection, id, force2) => Effect16.gen(function* () {
    const key = docKey2(collection, id);
    if (remoteEvicted.has(key) && !force2) return;
    const record = yield* store.getDoc(collection, id).pipe(Effect16.mapError((e) => fail11(e.message)));
    if (record === void 0) return;
    const wanted = force2 || matchesAny(remoteQueries, collection, record.visible) || known.has(key);
    if (!wanted || !permissions.canRead(collection, record.visible)) return;
    const base = known.get(key);
    const delta2 = base === void 0 ? record.state : Document_exports.delta(record.state, base);
    if (delta2 === void 0) return;
    known.set(key, VersionVector_exports.merge(base ?? VersionVector_exports.empty, Document_exports.versionVector(record.state)));
    batch.entries.push(base === void 0 ? { collection, id, delta: delta2 } : { collection, id, base, delta: delta2 });
    batch.bytes += record.stateJson.length;
  });
  const full = () => batch.entries.length >= maxBatchDocs || batch.bytes >= maxBatchBytes;
  const streamOps = Effect16.gen(function* () {
    const ops = yield* store.readOps(sentSeq, 256).pipe(Effect16.mapError((e) => fail11(e.message)));
    if (ops.length === 0) return false;
    const seen = /* @__PURE__ */ new Set();
    const evictions = [];
    for (const op of ops) {
      for (const change of op.changes) {
        if ("evict" in change) {
          evictions.push({ collection: change.collection, id: change.id, vv: {}, evicted: true });
          continue;
        }
        const key = docKey2(change.collection, change.id);
        if (seen.has(key)) continue;
        seen.add(key);
        yield* offerDoc(change.collection, change.id, false);
        if (full()) yield* flush({ upToSeq: op.seq });
      }
      sentSeq = op.seq;
    }
    if (evictions.length > 0) yield* send({ _tag: "Summary", docs: evictions });
    yield* flush({ upToSeq: sentSeq });
    return true;
  });
  const scanPage = Effect16.gen(function* () {
    const scan = scans[0];
    if (scan === void 0) return false;
    const collection = scan.query.query.collection;
    const page = yield* (collection === ALL_COLLECTIONS ? store.scanAllDocs(scan.afterCollection, scan.afterId, maxBatchDocs) : store.scanDocs(collection, scan.afterId, maxBatchDocs)).pipe(Effect16.mapError((e) => fail11(e.message)));
    for (const record of page) {
      scan.afterCollection = record.collection;
      scan.afterId = record.id;
      const key = docKey2(record.collection, record.id);
      if (record.visible === void 0 || !matchesAny([scan.query], record.collection, record.visible)) continue;
      remoteEvicted.delete(key);
      yield* offerDoc(record.collection, record.id, false);
      scan.sent++;
    }
    const done = page.length < maxBatchDocs;
    if (done) scans.shift();
    yield* flush({
      ...done ? { scanDone: scan.key } : {},
      progress: { queryId: scan.key, sent: scan.sent, total: Math.max(scan.total, scan.sent) }
    });
    return true;
  });
  const resendRequested = Effect16.gen(function* () {
    if (resend.length === 0) return false;
    const docs = resend.splice(0, resend.length);
    for (const d of docs) {
      yield* offerDoc(d.collection, d.id, true);
      if (full()) yield* flush({});
    }
    yield* flush({});
    return true;
  });
  const sender = Effect16.gen(function* () {
    yield* Deferred2.await(subscribed);
    while (true) {
      const a = yield* resendRequested;
      const b = yield* scanPage;
      const c = yield* streamOps;
      if (!a && !b && !c) yield* Queue2.take(wake);
    }
  });
  const commits = yield* replica.subscribe;
  const waker = Queue2.take(commits).pipe(Effect16.zipRight(poke), Effect16.forever);
  const subscriber = hooks.queriesFor(linkId).pipe(
    Stream3.runForEach((queries) => send({ _tag: "Subscribe", queries }))
  );
  const onSubscribe = (msg) => Effect16.gen(function* () {
    const compiled = [];
    for (const q of msg.queries) {
      const c = compile(q);
      if (Either10.isLeft(c)) return yield* Effect16.fail(fail11(c.left));
      compiled.push(c.right);
    }
    remoteQueries = compiled;
    const keys = new Set(compiled.map((c) => queryKey(c.query)));
    const before = synced.size;
    synced = new Set([...synced].filter((k) => keys.has(k)));
    for (const c of compiled) {
      const key = queryKey(c.query);
      if (synced.has(key) || scans.some((s) => s.key === key)) continue;
      const total = yield* (c.query.collection === ALL_COLLECTIONS ? store.countVisible : store.countCollection(c.query.collection)).pipe(Effect16.orElseSucceed(() => 0));
      scans.push({ key, query: c, afterCollection: "", afterId: "", sent: 0, total });
    }
    if (synced.size !== before) yield* persistCursor;
    yield* hooks.remoteQueries(linkId, msg.queries);
    yield* Deferred2.succeed(subscribed, void 0);
    yield* poke;
  });
  const onDeltas = (msg) => Effect16.gen(function* () {
    if (msg.batch !== expectedBatch) {
      return yield* Effect16.fail(fail11(`out-of-order frame: batch ${msg.batch}, expected ${expectedBatch}`));
    }
    expectedBatch++;
    if (msg.progress !== void 0) yield* hooks.progress(remoteSite, msg.progress);
    const docs = msg.docs.filter((d) => !hooks.isEvicted(d.collection, d.id));
    const result = yield* replica.merge(remoteSite, docs, { canWrite: permissions.canWrite }).pipe(
      Effect16.mapError((e) => fail11(`merge failed: ${e.message}`))
    );
    const refused = new Set(result.rejected.map((r) => docKey2(r.collection, r.id)));
    const partial = new Set(result.incomplete.map((r) => docKey2(r.collection, r.id)));
    for (const d of docs) {
      const key = docKey2(d.collection, d.id);
      if (refused.has(key) || partial.has(key)) continue;
      known.set(key, VersionVector_exports.merge(known.get(key) ?? VersionVector_exports.empty, Document_exports.versionVector(d.delta)));
    }
    yield* send({ _tag: "Ack", batch: msg.batch, ...msg.upToSeq === void 0 ? {} : { upToSeq: msg.upToSeq } });
    if (result.incomplete.length > 0) {
      yield* send({ _tag: "Summary", docs: result.incomplete.map((d) => ({ collection: d.collection, id: d.id, vv: d.vv })) });
    }
    if (result.rejected.length > 0) {
      yield* send({ _tag: "WriteRejected", batch: msg.batch, reason: "permission denied", docs: result.rejected });
    }
  });
  const onAck = (msg) => Effect16.gen(function* () {
    let changed = false;
    for (const [n, meta] of inflight) {
      if (n > msg.batch) continue;
      inflight.delete(n);
      yield* permits.release(1);
      if (meta.upToSeq !== void 0 && meta.upToSeq > ackedSeq) {
        ackedSeq = meta.upToSeq;
        changed = true;
      }
      if (meta.scanDone !== void 0) {
        synced.add(meta.scanDone);
        changed = true;
      }
    }
    if (changed) yield* persistCursor;
  });
  const onSummary = (msg) => Effect16.gen(function* () {
    for (const d of msg.docs) {
      const key = docKey2(d.collection, d.id);
      if (d.evicted === true) {
        remoteEvicted.add(key);
        known.delete(key);
        continue;
      }
      known.set(key, d.vv);
      resend.push({ collection: d.collection, id: d.id });
    }
    yield* poke;
  });
  const receiver = Effect16.gen(function* () {
    while (true) {
      const msg = yield* next;
      if (Option.isNone(msg)) return;
      const m = msg.value;
      switch (m._tag) {
        case "Subscribe":
          yield* onSubscribe(m);
          break;
        case "Deltas":
          yield* onDeltas(m);
          break;
        case "Ack":
          yield* onAck(m);
          break;
        case "Summary":
          yield* onSummary(m);
          break;
        case "WriteRejected":
          yield* hooks.rejected(remoteSite, m);
          for (const d of m.docs) known.delete(docKey2(d.collection, d.id));
          break;
        case "Ping":
          yield* send({ _tag: "Pong", n: m.n });
          break;
        case "Pong":
          break;
        case "Goodbye":
          return;
        case "Reject":
          return yield* Effect16.fail(new LinkRejected({ remote: remoteName, reason: m.reason, byRemote: true }));
        case "Hello":
        case "Welcome":
          return yield* Effect16.fail(fail11(`out-of-order frame: ${m._tag} after the handshake`));
      }
      yield* bump;
    }
  });
  const expiresAt = permissions.expiresAt;
  const expiry = expiresAt === void 0 ? Effect16.never : Effect16.gen(function* () {
    const now = yield* Effect16.clockWith((c) => c.currentTimeMillis);
    yield* Effect16.sleep(Duration.millis(Math.max(0, expiresAt - now)));
    yield* send({ _tag: "Reject", reason: "token expired" }).pipe(Effect16.ignore);
    return yield* Effect16.fail(new LinkRejected({ remote: remoteName, reason: "token expired", byRemote: false }));
  });
  const background = Effect16.zipRight(Effect16.all([sender, waker, subscriber], { concurrency: "unbounded" }), Effect16.never);
  yield* receiver.pipe(
    Effect16.raceFirst(background),
    Effect16.raceFirst(expiry),
    Effect16.ensuring(conn.close())
  );
});

// packages/peer/src/Sync.ts
import * as Context6 from "effect/Context";
import * as Duration2 from "effect/Duration";
import * as Effect17 from "effect/Effect";
import * as Either11 from "effect/Either";
import * as FiberMap from "effect/FiberMap";
import * as FiberSet from "effect/FiberSet";
import * as Layer5 from "effect/Layer";
import * as PubSub2 from "effect/PubSub";
import * as Random3 from "effect/Random";
import * as Schedule from "effect/Schedule";
import * as Stream4 from "effect/Stream";
import * as SubscriptionRef2 from "effect/SubscriptionRef";
var appIdHash = (appId) => {
  let h = 2166136261;
  for (let i = 0; i < appId.length; i++) {
    h ^= appId.charCodeAt(i);
    h = Math.imul(h, 16777619) >>> 0;
  }
  return h >>> 0;
};
var sameQueries = (a, b) => a.length === b.length && a.every((q, i) => q.id === b[i].id);
var make10 = (options) => Effect17.gen(function* () {
  const replica = yield* Replica;
  const store = yield* ReplicaStore;
  const transport = yield* Transport_exports.Transport;
  const relay = options.relay ?? true;
  const networkId = options.networkId ?? (yield* Random3.nextIntBetween(1, 2147483647));
  const local = {
    siteId: replica.siteId,
    networkId,
    deviceName: options.deviceName ?? `shoal-${replica.siteId.slice(0, 6)}`,
    appIdHash: appIdHash(options.appId),
    relay
  };
  const auth = options.auth ?? openAuth;
  const queries = yield* SubscriptionRef2.make({ local: /* @__PURE__ */ new Map(), remote: /* @__PURE__ */ new Map() });
  const links = yield* SubscriptionRef2.make(/* @__PURE__ */ new Map());
  const rejections = yield* PubSub2.unbounded();
  const progress = yield* PubSub2.unbounded();
  const evicted = /* @__PURE__ */ new Set();
  yield* replica.commitEvents.pipe(
    Stream4.runForEach(
      (e) => Effect17.sync(() => {
        for (const c of e.changes) if (c.evicted === true) evicted.add(`${c.collection}\0${c.id}`);
      })
    ),
    Effect17.forkScoped
  );
  const queriesFor = (linkId) => queries.changes.pipe(
    Stream4.map((state) => {
      const out = /* @__PURE__ */ new Map();
      for (const q of state.local.values()) out.set(q.id, q);
      if (relay) {
        for (const [other, qs] of state.remote) {
          if (other === linkId) continue;
          for (const q of qs) out.set(q.id, q);
        }
      }
      return [...out.values()].sort((a, b) => a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
    }),
    Stream4.changesWith(sameQueries)
  );
  const hooks = {
    queriesFor,
    remoteQueries: (linkId, qs) => SubscriptionRef2.update(queries, (s) => ({
      local: s.local,
      remote: new Map([...s.remote, [linkId, qs.map((q) => ({ ...q, id: queryKey(q) }))]])
    })),
    register: (linkId, remote, dialed, close) => SubscriptionRef2.modifyEffect(links, (current) => {
      const existing = [...current.values()].find((l) => l.remote.siteId === remote.siteId);
      const entry = { linkId, remote, dialed, close };
      if (existing === void 0) return Effect17.succeed([true, new Map([...current, [linkId, entry]])]);
      const lowerDialed = (l) => l.dialed ? local.siteId < remote.siteId : remote.siteId < local.siteId;
      if (lowerDialed(entry) && !lowerDialed(existing)) {
        const next = new Map(current);
        next.delete(existing.linkId);
        next.set(linkId, entry);
        return Effect17.as(Effect17.forkDaemon(existing.close), [true, next]);
      }
      return Effect17.succeed([false, current]);
    }),
    unregister: (linkId) => Effect17.zipRight(
      SubscriptionRef2.update(links, (current) => {
        const next = new Map(current);
        next.delete(linkId);
        return next;
      }),
      SubscriptionRef2.update(queries, (s) => {
        const remote = new Map(s.remote);
        remote.delete(linkId);
        return { local: s.local, remote };
      })
    ),
    isEvicted: (collection, id) => evicted.has(`${collection}\0${id}`),
    rejected: (remote, m) => Effect17.zipRight(
      Effect17.logWarning(`remote ${remote} refused ${m.docs.length} write(s): ${m.reason}`),
      PubSub2.publish(rejections, { remote, reason: m.reason, docs: m.docs })
    ),
    progress: (remote, p) => PubSub2.publish(progress, { remote, progress: p })
  };
  const runLink = (connection, dialed) => run2({
    connection,
    dialed,
    replica,
    store,
    local,
    auth,
    hooks,
    ...options.link === void 0 ? {} : { options: options.link }
  }).pipe(Effect17.scoped);
  const inbound = yield* FiberSet.make();
  const accept = (connection) => FiberSet.run(
    inbound,
    runLink(connection, false).pipe(
      Effect17.catchAll((e) => Effect17.logInfo(`inbound link ended: ${e.message}`)),
      Effect17.catchAllDefect((d) => Effect17.logError("inbound link crashed", d)),
      Effect17.ensuring(connection.close())
    )
  ).pipe(Effect17.asVoid);
  if (options.listen ?? true) {
    yield* transport.listen.pipe(
      Stream4.runForEach(accept),
      Effect17.catchAll((e) => Effect17.logWarning(`listen failed: ${e.message}`)),
      Effect17.forkScoped
    );
  }
  const base = Duration2.millis(options.retryIntervalMs ?? 500);
  const retry2 = Schedule.exponential(base, 2).pipe(
    Schedule.modifyDelay((_, d) => Duration2.min(d, Duration2.seconds(30))),
    Schedule.jittered,
    Schedule.resetAfter("1 minute")
  );
  const outbound = yield* FiberMap.make();
  const connect = (address) => FiberMap.run(
    outbound,
    address,
    Effect17.gen(function* () {
      const connection = yield* transport.dial(address);
      yield* runLink(connection, true);
    }).pipe(
      Effect17.scoped,
      // A clean end (remote shut down, duplicate) is retried too: the remote may come back.
      Effect17.catchAllDefect((d) => Effect17.fail(new LinkError({ remote: address, reason: `crashed: ${String(d)}` }))),
      Effect17.tapError((e) => Effect17.logDebug(`link to ${address}: ${e.message}`)),
      Effect17.zipRight(Effect17.fail(new LinkError({ remote: address, reason: "ended" }))),
      Effect17.retry(retry2),
      Effect17.orDie
    ),
    { onlyIfMissing: true }
  ).pipe(Effect17.asVoid);
  const disconnect = (address) => FiberMap.remove(outbound, address);
  for (const address of options.connect ?? []) yield* connect(address);
  const registerSubscription = (query3, args = {}) => Effect17.gen(function* () {
    const parsed = yield* parseCached(query3);
    if (parsed._tag !== "Select") {
      return yield* new InvalidStatement({ message: "a subscription is a SELECT statement" });
    }
    const where = parsed.where === void 0 ? void 0 : Dql_exports.Printer.printExpr(parsed.where);
    const q = { collection: parsed.collection, ...where === void 0 ? {} : { where }, args };
    const id = queryKey(q);
    const full = { id, ...q };
    for (const key of evicted) if (key.startsWith(`${parsed.collection}\0`)) evicted.delete(key);
    yield* SubscriptionRef2.update(queries, (s) => ({ local: new Map([...s.local, [id, full]]), remote: s.remote }));
    return {
      id,
      query: full,
      cancel: SubscriptionRef2.update(queries, (s) => {
        const next = new Map(s.local);
        next.delete(id);
        return { local: next, remote: s.remote };
      })
    };
  });
  const subscribeAll = Effect17.gen(function* () {
    const q = { collection: ALL_COLLECTIONS, args: {} };
    const id = queryKey(q);
    const full = { id, ...q };
    yield* SubscriptionRef2.update(queries, (s) => ({ local: new Map([...s.local, [id, full]]), remote: s.remote }));
    return {
      id,
      query: full,
      cancel: SubscriptionRef2.update(queries, (s) => {
        const next = new Map(s.local);
        next.delete(id);
        return { local: next, remote: s.remote };
      })
    };
  });
  const graph = (current) => ({
    localPeer: { siteId: local.siteId, networkId: local.networkId, deviceName: local.deviceName },
    remotePeers: [...current.values()].map((l) => ({
      siteId: l.remote.siteId,
      networkId: l.remote.networkId,
      deviceName: l.remote.deviceName
    })),
    connections: [...current.values()].map((l) => ({ from: local.siteId, to: l.remote.siteId, transport: transport.kind }))
  });
  return {
    local,
    registerSubscription,
    subscribeAll,
    connect,
    disconnect,
    /** Run a link over a connection accepted elsewhere (e.g. the Big Peer's HTTP upgrade). */
    accept,
    /** Run a link over a connection accepted elsewhere and wait for it to end. */
    serve: (connection) => runLink(connection, false),
    presence: {
      current: Effect17.map(SubscriptionRef2.get(links), graph),
      observe: () => links.changes.pipe(Stream4.map(graph))
    },
    /** Writes remotes refused (permission), as they are reported. */
    rejections: Stream4.fromPubSub(rejections),
    /** Initial-sync progress reported by remotes sending to this peer. */
    progress: Stream4.fromPubSub(progress),
    linkCount: Effect17.map(SubscriptionRef2.get(links), (m) => m.size)
  };
});
var Sync = class _Sync extends Context6.Tag("@shoal/peer/Sync")() {
  static layer = (options) => Layer5.scoped(_Sync, make10(options));
};

// packages/cli/src/Query.ts
import * as Effect18 from "effect/Effect";
import * as Layer6 from "effect/Layer";
var parseArgs = (text) => {
  if (text === void 0) return Effect18.succeed({});
  return Effect18.try({
    try: () => JSON.parse(text),
    catch: (e) => new CliError({ message: `--args is not valid JSON: ${e instanceof Error ? e.message : String(e)}` })
  }).pipe(
    Effect18.filterOrFail(
      (v) => Json_exports.isObject(v),
      () => new CliError({ message: `--args must be a JSON object, e.g. '{"id": "a"}'` })
    )
  );
};
var statementError = (e) => new CliError({ message: e._tag === "DqlSyntaxError" ? `DQL syntax error: ${oneLine(e.message)}` : oneLine(e.message) });
var columnsOf = (items) => {
  const keys = /* @__PURE__ */ new Set();
  for (const item of items) for (const k of Object.keys(item)) keys.add(k);
  return [...keys];
};
var query = (db2, statement, options) => Effect18.gen(function* () {
  const args = yield* parseArgs(options.args);
  yield* checkReplicaFile(db2);
  const out = yield* Output;
  const replicaLayer = Replica.layer.pipe(
    Layer6.provide(ReplicaStore.layer({ filename: db2 })),
    Layer6.mapError((e) => new CliError({ message: oneLine(e.message) }))
  );
  const result = yield* Effect18.flatMap(Replica, (replica) => replica.execute(statement, args)).pipe(
    Effect18.mapError(statementError),
    Effect18.provide(replicaLayer)
  );
  if (options.table) {
    const columns = columnsOf(result.items);
    if (columns.length > 0) {
      yield* out.stdout.write(
        render2(
          columns.map((header) => ({ header, maxWidth: 60 })),
          result.items.map((item) => columns.map((c) => jsonCell(item[c])))
        )
      );
    }
  } else {
    for (const item of result.items) yield* out.stdout.write(JSON.stringify(item) + "\n");
  }
  yield* out.stdout.flush;
  for (const w of result.warnings) yield* out.stderr(`warning: ${oneLine(w)}
`);
  if (result.queryType === "select") {
    if (options.table) yield* out.stderr(`${result.items.length} item${result.items.length === 1 ? "" : "s"}
`);
  } else if (result.queryType === "unknown" && result.mutatedDocumentIds.length === 0) {
    yield* out.stderr("done\n");
  } else {
    const ids = result.mutatedDocumentIds;
    yield* out.stderr(
      `${result.queryType}: ${ids.length} document${ids.length === 1 ? "" : "s"}${ids.length > 0 ? ` ${JSON.stringify(ids.slice(0, 20))}${ids.length > 20 ? " \u2026" : ""}` : ""} (transaction ${result.transactionId})
`
    );
  }
});

// packages/cli/src/Cli.ts
var VERSION = "0.0.0";
var db = Args.text({ name: "db" }).pipe(Args.withDescription("path of a replica file (an existing Shoal SQLite file)"));
var force = Options.boolean("force").pipe(Options.withDescription("overwrite the --out file if it exists"));
var inspect2 = Command.make(
  "inspect",
  {
    db,
    limit: Options.integer("limit").pipe(Options.withDefault(100), Options.withDescription("ops to show")),
    from: Options.integer("from").pipe(Options.withDefault(1), Options.withDescription("first seq to show"))
  },
  ({ db: db2, from, limit }) => inspect(db2, { from, limit })
).pipe(Command.withDescription("Show the op log as a table: seq, txn, site, time, origin, collections, changes."));
var exportCommand = Command.make(
  "export",
  {
    db,
    format: Options.choice("format", ["ndjson"]).pipe(Options.withDefault("ndjson")),
    out: Options.text("out").pipe(Options.optional, Options.withDescription("write to this file instead of stdout")),
    force
  },
  ({ db: db2, force: force2, format, out }) => exportOps(db2, { format, out: Option2.getOrUndefined(out), force: force2 })
).pipe(Command.withDescription("Write every op as one JSON object per line (NDJSON)."));
var replay2 = Command.make(
  "replay",
  {
    db,
    until: Options.text("until").pipe(
      Options.withDescription("last op to replay: a seq number, or an ISO time (ops whose HLC time is at or before it)")
    ),
    out: Options.text("out").pipe(Options.withDescription("path of the new replica file")),
    force
  },
  ({ db: db2, force: force2, out, until }) => replay(db2, { until, out, force: force2 })
).pipe(Command.withDescription("Build a new replica from the op log up to a seq or a point in time."));
var oplog = Command.make("oplog").pipe(
  Command.withDescription("Read a replica's op log."),
  Command.withSubcommands([inspect2, exportCommand, replay2])
);
var query2 = Command.make(
  "query",
  {
    db,
    statement: Args.text({ name: "statement" }).pipe(Args.withDescription("one DQL statement")),
    args: Options.text("args").pipe(Options.optional, Options.withDescription("JSON object of :named arguments")),
    table: Options.boolean("table").pipe(Options.withDescription("print a table instead of JSON lines"))
  },
  ({ args, db: db2, statement, table }) => query(db2, statement, { args: Option2.getOrUndefined(args), table })
).pipe(Command.withDescription("Run one DQL statement against a replica file."));
var shoal = Command.make("shoal").pipe(
  Command.withDescription("Shoal command line tools."),
  Command.withSubcommands([oplog, query2])
);
var cli = Command.run(shoal, { name: "shoal", version: VERSION });
var Reported = class extends Data.TaggedError("Reported") {
};
var messageOf = (u) => {
  if (typeof u === "object" && u !== null && "message" in u && typeof u.message === "string" && u.message !== "") {
    return oneLine(u.message);
  }
  return oneLine(String(u));
};
var describeCause = (cause) => {
  const failure = Cause.failureOption(cause);
  if (Option2.isSome(failure)) {
    if (ValidationError.isValidationError(failure.value)) return void 0;
    return messageOf(failure.value);
  }
  const defect = Cause.dieOption(cause);
  if (Option2.isSome(defect)) {
    return defect.value instanceof CliError ? defect.value.message : `internal error: ${messageOf(defect.value)}`;
  }
  return Cause.isInterruptedOnly(cause) ? "interrupted" : oneLine(Cause.pretty(cause).split("\n")[0] ?? "failed");
};
var run5 = (argv) => cli(argv).pipe(
  Effect19.catchAllCause(
    (cause) => Effect19.gen(function* () {
      if (Cause.isInterruptedOnly(cause)) return yield* Effect19.failCause(cause);
      const message = describeCause(cause);
      if (message !== void 0) {
        const out = yield* Output;
        yield* out.stderr(`shoal: ${message}
`);
      }
      return yield* new Reported();
    })
  )
);

// packages/cli/src/main.ts
process.stdout.on("error", (e) => {
  if (e.code === "EPIPE") process.exit(0);
  process.stderr.write(`shoal: cannot write output: ${e.message}
`);
  process.exit(1);
});
var logs = Logger.replace(Logger.defaultLogger, Logger.withConsoleError(Logger.logfmtLogger));
var program = run5(process.argv).pipe(
  Effect20.provide(Layer7.mergeAll(NodeContext2.layer, layerNode, logs))
);
NodeRuntime.runMain(program, {
  disableErrorReporting: true,
  disablePrettyLogger: true,
  teardown: (exit, onExit) => onExit(Exit2.isSuccess(exit) ? 0 : Cause2.isInterruptedOnly(exit.cause) ? 130 : 1)
});
