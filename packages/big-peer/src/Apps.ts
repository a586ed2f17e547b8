/**
 * The app registry of a Big Peer: one admin SQLite file (`<dataDir>/admin.sqlite`)
 * holding every app (id, identity mode, playground token, webhook URL, signing
 * key pair) and every API key (id, app, name, salted hash, permissions).
 *
 * App data never lives here: each app has its own replica file (see
 * `Tenants`). The admin file holds private keys and playground tokens, so it
 * is created readable by its owner only (0600).
 */
import { Api, Errors } from "@shoal/client"
import { Permissions } from "@shoal/core"
import Database from "better-sqlite3"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { chmodSync, existsSync, mkdirSync } from "node:fs"
import { join } from "node:path"
import { ApiKeys, AppKeys, PlaygroundToken } from "./auth/index.js"
import { BigPeerSettings } from "./Config.js"

/** One app as registered. */
export interface AppRecord {
  readonly appId: string
  readonly identityMode: Api.IdentityMode
  /** The shared token of `online-playground` apps. */
  readonly playgroundToken: Option.Option<Redacted.Redacted<string>>
  /** The auth webhook of `online-with-authentication` apps. */
  readonly authWebhookUrl: Option.Option<string>
  /** The app's Ed25519 key pair (signs its tokens). */
  readonly keys: AppKeys.StoredKeys
  readonly createdAt: number
}

/** One API key as registered (the secret itself is never stored). */
export interface ApiKeyRecord {
  readonly keyId: ApiKeys.KeyId
  readonly appId: string
  readonly name: string
  readonly stored: ApiKeys.StoredHash
  readonly permissions: Permissions.Permissions
  readonly createdAt: number
}

/** The public view of an app (what `CreateApp` answers). */
export const toAppInfo = (app: AppRecord): Api.AppInfo => ({
  appId: app.appId,
  identityMode: app.identityMode,
  ...(Option.isSome(app.playgroundToken) ? { playgroundToken: Redacted.value(app.playgroundToken.value) } : {}),
  ...(Option.isSome(app.authWebhookUrl) ? { authWebhookUrl: app.authWebhookUrl.value } : {})
})

interface AppRow {
  readonly app_id: string
  readonly identity_mode: string
  readonly playground_token: string | null
  readonly auth_webhook_url: string | null
  readonly keys_json: string
  readonly created_at: number
}

interface ApiKeyRow {
  readonly key_id: string
  readonly app_id: string
  readonly name: string
  readonly hash_json: string
  readonly permissions_json: string
  readonly created_at: number
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS apps (
  app_id TEXT PRIMARY KEY,
  identity_mode TEXT NOT NULL,
  playground_token TEXT,
  auth_webhook_url TEXT,
  keys_json TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS apps_playground_token ON apps (playground_token) WHERE playground_token IS NOT NULL;
CREATE TABLE IF NOT EXISTS api_keys (
  key_id TEXT PRIMARY KEY,
  app_id TEXT NOT NULL REFERENCES apps (app_id),
  name TEXT NOT NULL,
  hash_json TEXT NOT NULL,
  permissions_json TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS api_keys_app ON api_keys (app_id);
`

const decodeMode = Schema.decodeUnknownSync(Api.IdentityMode)
const decodeKeys = Schema.decodeUnknownSync(AppKeys.StoredKeysFromJson)
const encodeKeys = Schema.encode(AppKeys.StoredKeysFromJson)
const PermissionsJson = Schema.parseJson(Permissions.Permissions)
const decodePermissions = Schema.decodeUnknownSync(PermissionsJson)
const encodePermissions = Schema.encodeSync(PermissionsJson)
const StoredHashJson = Schema.parseJson(ApiKeys.StoredHash)
const decodeHash = Schema.decodeUnknownSync(StoredHashJson)
const encodeHash = Schema.encodeSync(StoredHashJson)

const rowToApp = (row: AppRow): AppRecord => ({
  appId: row.app_id,
  identityMode: decodeMode(row.identity_mode),
  playgroundToken: row.playground_token === null ? Option.none() : Option.some(Redacted.make(row.playground_token)),
  authWebhookUrl: Option.fromNullable(row.auth_webhook_url),
  keys: decodeKeys(row.keys_json),
  createdAt: row.created_at
})

const rowToKey = (row: ApiKeyRow): ApiKeyRecord => ({
  keyId: ApiKeys.KeyId.make(row.key_id),
  appId: row.app_id,
  name: row.name,
  stored: decodeHash(row.hash_json),
  permissions: decodePermissions(row.permissions_json),
  createdAt: row.created_at
})

/** Path of the admin database in a data directory. */
export const adminPath = (dataDir: string) => join(dataDir, "admin.sqlite")

const isHttpUrl = (text: string) => {
  try {
    const url = new URL(text)
    return url.protocol === "http:" || url.protocol === "https:"
  } catch {
    return false
  }
}

const invalid = (message: string) => new Errors.InvalidRequest({ message })

/** Admin database failures are server faults: they end the request as a defect (HTTP 500), never as a user error. */
const db = <A>(what: string, f: () => A): Effect.Effect<A> =>
  Effect.try({ try: f, catch: (e) => new Error(`admin database: ${what}: ${e instanceof Error ? e.message : String(e)}`) })
    .pipe(Effect.orDie)

const make = Effect.gen(function*() {
  const settings = yield* BigPeerSettings
  const file = adminPath(settings.dataDir)
  const sqlite = yield* Effect.acquireRelease(
    db(`open ${file}`, () => {
      mkdirSync(settings.dataDir, { recursive: true })
      const fresh = !existsSync(file)
      const handle = new Database(file)
      if (fresh) chmodSync(file, 0o600)
      handle.pragma("journal_mode = WAL")
      handle.pragma("synchronous = NORMAL")
      handle.pragma("busy_timeout = 5000")
      handle.pragma("foreign_keys = ON")
      handle.exec(SCHEMA)
      return handle
    }),
    (handle) => Effect.sync(() => handle.close())
  )

  const selectApp = sqlite.prepare<[string], AppRow>("SELECT * FROM apps WHERE app_id = ?")
  const selectByToken = sqlite.prepare<[string], { app_id: string }>("SELECT app_id FROM apps WHERE playground_token = ?")
  const selectApps = sqlite.prepare<[], AppRow>("SELECT * FROM apps ORDER BY app_id")
  const insertApp = sqlite.prepare<[string, string, string | null, string | null, string, number]>(
    `INSERT INTO apps (app_id, identity_mode, playground_token, auth_webhook_url, keys_json, created_at)
     VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (app_id) DO NOTHING`
  )
  const selectKey = sqlite.prepare<[string], ApiKeyRow>("SELECT * FROM api_keys WHERE key_id = ?")
  const insertKey = sqlite.prepare<[string, string, string, string, string, number]>(
    `INSERT INTO api_keys (key_id, app_id, name, hash_json, permissions_json, created_at) VALUES (?, ?, ?, ?, ?, ?)`
  )

  /** Imported signing keys, per app (importing is async WebCrypto work). */
  const keyCache = new Map<string, AppKeys.AppKeys>()
  /**
   * Decoded app records (every request looks its app up; apps never change
   * once created, and this process is the only writer of the admin file).
   */
  const appCache = new Map<string, AppRecord>()
  const remember = (app: AppRecord) => {
    if (appCache.size >= 10_000) appCache.clear()
    appCache.set(app.appId, app)
    return app
  }

  const find = (appId: string): Effect.Effect<Option.Option<AppRecord>> => {
    const cached = appCache.get(appId)
    if (cached !== undefined) return Effect.succeed(Option.some(cached))
    return db("read app", () => Option.map(Option.fromNullable(selectApp.get(appId)), (row) => remember(rowToApp(row))))
  }

  const get = (appId: string): Effect.Effect<AppRecord, Errors.AppNotFound> =>
    Effect.flatMap(find(appId), Option.match({
      onNone: () => Effect.fail(new Errors.AppNotFound({ appId })),
      onSome: Effect.succeed
    }))

  const create = (request: Api.CreateAppRequest): Effect.Effect<AppRecord, Errors.InvalidRequest> =>
    Effect.gen(function*() {
      if (!Api.isValidAppId(request.appId)) {
        return yield* invalid(
          `invalid app id ${JSON.stringify(request.appId)}: use 1-128 characters of A-Z a-z 0-9 _ -, starting with a letter or digit`
        )
      }
      const url = request.authWebhookUrl
      if (request.identityMode === "online-with-authentication") {
        if (url === undefined) return yield* invalid("online-with-authentication needs an authWebhookUrl")
        if (!isHttpUrl(url)) return yield* invalid(`authWebhookUrl ${JSON.stringify(url)} is not an http(s) URL`)
      } else if (url !== undefined) {
        return yield* invalid(`authWebhookUrl applies only to online-with-authentication apps, not ${request.identityMode}`)
      }
      const keys = yield* Effect.flatMap(AppKeys.generate, AppKeys.exportKeys).pipe(Effect.orDie)
      const keysJson = yield* encodeKeys(keys).pipe(Effect.orDie)
      const token = request.identityMode === "online-playground" ? Redacted.value(yield* PlaygroundToken.generate) : null
      const now = Date.now()
      const inserted = yield* db(
        "insert app",
        () => insertApp.run(request.appId, request.identityMode, token, url ?? null, keysJson, now).changes
      )
      if (inserted === 0) return yield* invalid(`app ${JSON.stringify(request.appId)} already exists`)
      yield* Effect.logInfo(`created app ${request.appId} (${request.identityMode})`)
      return yield* Effect.orDie(get(request.appId))
    })

  /** The app if it exists with the same identity mode, else creates it (idempotent start-up). */
  const ensure = (request: Api.CreateAppRequest): Effect.Effect<AppRecord, Errors.InvalidRequest> =>
    Effect.flatMap(find(request.appId), Option.match({
      onNone: () => create(request),
      onSome: (app) =>
        app.identityMode === request.identityMode
          ? Effect.succeed(app)
          : Effect.fail(invalid(`app ${JSON.stringify(request.appId)} exists with identity mode ${app.identityMode}`))
    }))

  const createApiKey = (
    request: Api.CreateApiKeyRequest
  ): Effect.Effect<{ readonly keyId: ApiKeys.KeyId; readonly bearer: Redacted.Redacted<string> }, Errors.AppNotFound | Errors.InvalidRequest> =>
    Effect.gen(function*() {
      yield* get(request.appId)
      const name = request.name.trim()
      if (name.length === 0 || name.length > 200) return yield* invalid("an API key needs a name of 1-200 characters")
      const compiled = Permissions.compile(request.permissions)
      if (compiled._tag === "Left") return yield* invalid(compiled.left.message)
      const key = yield* ApiKeys.generate
      yield* db("insert api key", () =>
        insertKey.run(
          key.keyId,
          request.appId,
          name,
          encodeHash(key.stored),
          encodePermissions(request.permissions),
          Date.now()
        ))
      yield* Effect.logInfo(`created API key ${key.keyId} (${name}) of app ${request.appId}`)
      return { keyId: key.keyId, bearer: key.bearer }
    })

  const keysOf = (app: AppRecord): Effect.Effect<AppKeys.AppKeys> => {
    const cached = keyCache.get(app.appId)
    if (cached !== undefined) return Effect.succeed(cached)
    return AppKeys.importKeys(app.keys).pipe(
      Effect.orDie,
      Effect.tap((keys) => Effect.sync(() => keyCache.set(app.appId, keys)))
    )
  }

  return {
    dataDir: settings.dataDir,
    find,
    get,
    create,
    ensure,
    list: db("list apps", () => selectApps.all().map(rowToApp)),
    /** The app whose playground token this is (exact match). */
    findByPlaygroundToken: (token: Redacted.Redacted<string>): Effect.Effect<Option.Option<AppRecord>> =>
      db("read app", () => Option.fromNullable(selectByToken.get(Redacted.value(token))?.app_id)).pipe(
        Effect.flatMap(Option.match({ onNone: () => Effect.succeed(Option.none()), onSome: find })),
        // The index lookup found it; compare once more in constant time.
        Effect.map(Option.filter((app) =>
          Option.exists(app.playgroundToken, (expected) => PlaygroundToken.equals(token, expected))
        ))
      ),
    createApiKey,
    findApiKey: (keyId: ApiKeys.KeyId): Effect.Effect<Option.Option<ApiKeyRecord>> =>
      db("read api key", () => Option.map(Option.fromNullable(selectKey.get(keyId)), rowToKey)),
    /** The app's usable (imported) signing keys. */
    keysOf
  }
})

/** See the module documentation. */
export type AppsShape = Effect.Effect.Success<typeof make>

/** The app registry service. */
export class Apps extends Context.Tag("@shoal/big-peer/Apps")<Apps, AppsShape>() {
  /** Opens (creating if needed) `<dataDir>/admin.sqlite`; closes it with the layer. */
  static readonly layer: Layer.Layer<Apps, never, BigPeerSettings> = Layer.scoped(Apps, make)
}
