/**
 * Run a Shoal Big Peer: `npm start` (from the repository root).
 *
 * - data in `./data` (admin database + one replica per app), port 8080 on 127.0.0.1;
 * - creates (once) the `online-playground` app `demo` and prints its URL,
 *   app id, token and a `curl` line that works as printed;
 * - the admin key comes from `SHOAL_ADMIN_KEY` / `--admin-key`, else it is
 *   generated once into `<data dir>/admin-key` (mode 0600);
 * - SIGTERM / Ctrl-C: stops accepting, lets requests finish, closes replicas, exits 0.
 *
 * Flags override `SHOAL_*` variables:
 *   --port <n>  --host <ip>  --data-dir <dir>  --admin-key <key>
 *   --max-body-bytes <n>  --demo-app <id>  --no-demo
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Apps, BigPeer, Config } from "@shoal/big-peer"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { randomBytes } from "node:crypto"
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { parseArgs } from "node:util"

const usage = `usage: npm start -- [--port 8080] [--host 127.0.0.1] [--data-dir ./data] [--admin-key KEY]
                     [--max-body-bytes N] [--demo-app demo] [--no-demo]
env: SHOAL_PORT SHOAL_HOST SHOAL_DATA_DIR SHOAL_ADMIN_KEY SHOAL_MAX_BODY_BYTES SHOAL_TXN_WAIT_MS`

const { values: flags } = parseArgs({
  options: {
    port: { type: "string" },
    host: { type: "string" },
    "data-dir": { type: "string" },
    "admin-key": { type: "string" },
    "max-body-bytes": { type: "string" },
    "demo-app": { type: "string", default: "demo" },
    "no-demo": { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false }
  },
  strict: true
})
if (flags.help) {
  console.log(usage)
  process.exit(0)
}

// Flags first, then the environment.
const fromFlags = new Map<string, string>()
const flagKeys = [
  ["port", "SHOAL_PORT"],
  ["host", "SHOAL_HOST"],
  ["data-dir", "SHOAL_DATA_DIR"],
  ["admin-key", "SHOAL_ADMIN_KEY"],
  ["max-body-bytes", "SHOAL_MAX_BODY_BYTES"]
] as const
for (const [flag, key] of flagKeys) {
  const value = flags[flag]
  if (value !== undefined) fromFlags.set(key, value)
}
const provider = ConfigProvider.fromMap(fromFlags).pipe(ConfigProvider.orElse(() => ConfigProvider.fromEnv()))

/** The admin key given, else the one kept in `<dataDir>/admin-key` (generated on first start). */
const withAdminKey = (config: Config.BigPeerConfig) =>
  Effect.sync((): { config: Config.BigPeerConfig; adminKeySource: string } => {
    if (Option.isSome(config.adminKey)) return { config, adminKeySource: "SHOAL_ADMIN_KEY / --admin-key" }
    const file = join(config.dataDir, "admin-key")
    if (!existsSync(file)) {
      mkdirSync(config.dataDir, { recursive: true })
      writeFileSync(file, `shoal_admin_${randomBytes(32).toString("base64url")}\n`, { mode: 0o600 })
    }
    const key = readFileSync(file, "utf8").trim()
    return { config: { ...config, adminKey: Option.some(Redacted.make(key)) }, adminKeySource: resolve(file) }
  })

const demoAppId = flags["demo-app"]

/** Runs once the server listens: the demo app, then what to paste. */
const announce = (adminKeySource: string, dataDir: string) =>
  Layer.effectDiscard(Effect.gen(function*() {
    const url = yield* BigPeer.url
    yield* Console.log(`Shoal Big Peer listening on ${url}`)
    yield* Console.log(`  data dir:  ${resolve(dataDir)}`)
    yield* Console.log(`  admin key: ${adminKeySource}`)
    yield* Console.log(`  RPC:       ${url}/rpc (HTTP) and ${url.replace(/^http/, "ws")}/rpc (WebSocket)`)
    if (flags["no-demo"]) return
    const apps = yield* Apps.Apps
    const app = yield* apps.ensure({ appId: demoAppId, identityMode: "online-playground" })
    const token = Option.getOrElse(Option.map(app.playgroundToken, Redacted.value), () => "")
    const execute = `${url}/${app.appId}/api/v4/store/execute`
    yield* Console.log("")
    yield* Console.log(`Demo app (${app.identityMode}):`)
    yield* Console.log(`  app id:    ${app.appId}`)
    yield* Console.log(`  token:     ${token}`)
    yield* Console.log(`  HTTP API:  ${execute}`)
    yield* Console.log(`  sync:      ${url.replace(/^http/, "ws")}/sync/${app.appId}`)
    yield* Console.log("")
    yield* Console.log("Try:")
    const curl = (body: string) =>
      `  curl -s -X POST '${execute}' -H 'Authorization: Bearer ${token}' -H 'Content-Type: application/json' -d '${body}'`
    yield* Console.log(curl(`{"statement":"INSERT INTO tasks DOCUMENTS (:task)","args":{"task":{"title":"Buy milk","done":false}}}`))
    yield* Console.log(curl(`{"statement":"SELECT * FROM tasks"}`))
    yield* Console.log(`  node --import tsx examples/rpc-client/src/main.ts --url ${url} --app ${app.appId} --token ${token}`)
  }))

const program = Layer.unwrapEffect(Effect.gen(function*() {
  const loaded = yield* Config.config
  const { adminKeySource, config } = yield* withAdminKey(loaded)
  return announce(adminKeySource, config.dataDir).pipe(Layer.provide(BigPeer.layer(config)))
})).pipe(Layer.provide(Layer.setConfigProvider(provider)))

NodeRuntime.runMain(Layer.launch(program))
