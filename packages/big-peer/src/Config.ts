/**
 * Configuration of a Big Peer: where it listens, where it keeps its files,
 * the admin credential and request limits. Read from `SHOAL_*` environment
 * variables with `effect/Config` ({@link config}); the example program maps
 * its CLI flags onto the same keys.
 *
 * | env var | default | meaning |
 * |---|---|---|
 * | `SHOAL_PORT` | `8080` | TCP port (`0` = any free port) |
 * | `SHOAL_HOST` | `127.0.0.1` | interface to bind (`0.0.0.0` for all) |
 * | `SHOAL_DATA_DIR` | `./data` | admin database and one replica per app |
 * | `SHOAL_ADMIN_KEY` | (none: admin API disabled) | bearer credential of the operator |
 * | `SHOAL_MAX_BODY_BYTES` | `6291456` (6 MiB) | largest HTTP request body (413 above) |
 * | `SHOAL_TXN_WAIT_MS` | `5000` | longest wait for `X-Shoal-Txn-Id` (read-your-writes) |
 */
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"

/** Everything a Big Peer needs to start. */
export interface BigPeerConfig {
  readonly port: number
  readonly host: string
  /** Directory of the admin database and of the app replicas (created when missing). */
  readonly dataDir: string
  /** The operator's credential (CreateApp, CreateApiKey, every app). `None` disables the admin API. */
  readonly adminKey: Option.Option<Redacted.Redacted<string>>
  /** Largest accepted HTTP request body, in bytes. Must exceed the 5 MiB document limit. */
  readonly maxBodyBytes: number
  /** How long a request carrying `X-Shoal-Txn-Id` waits for that transaction. */
  readonly txnWait: Duration.Duration
  /** Lifetime of the token the Big Peer presents to small peers in `Hello` (signed-token apps). */
  readonly peerTokenLifetime: Duration.Duration
}

/** Defaults (port 8080 on loopback, `./data`, 6 MiB bodies, 5 s read-your-writes wait). */
export const defaults: BigPeerConfig = {
  port: 8080,
  host: "127.0.0.1",
  dataDir: "./data",
  adminKey: Option.none(),
  maxBodyBytes: 6 * 1024 * 1024,
  txnWait: Duration.seconds(5),
  peerTokenLifetime: Duration.hours(24)
}

/** Builds a config from defaults and overrides. */
export const make = (overrides: Partial<BigPeerConfig> = {}): BigPeerConfig => ({ ...defaults, ...overrides })

const nonNegativeInt = (name: string, fallback: number, max = Number.MAX_SAFE_INTEGER) =>
  Config.integer(name).pipe(
    Config.withDefault(fallback),
    Config.validate({ message: `${name} must be an integer in 0..${max}`, validation: (n) => n >= 0 && n <= max })
  )

/**
 * The config from `SHOAL_*` variables (or any `ConfigProvider`). `Config.port`
 * is not used on purpose: it rejects 0, which tests need for a free port.
 */
export const config: Config.Config<BigPeerConfig> = Config.all({
  port: nonNegativeInt("SHOAL_PORT", defaults.port, 65535),
  host: Config.string("SHOAL_HOST").pipe(Config.withDefault(defaults.host)),
  dataDir: Config.string("SHOAL_DATA_DIR").pipe(Config.withDefault(defaults.dataDir)),
  adminKey: Config.option(Config.redacted("SHOAL_ADMIN_KEY")),
  maxBodyBytes: nonNegativeInt("SHOAL_MAX_BODY_BYTES", defaults.maxBodyBytes).pipe(
    Config.validate({ message: "SHOAL_MAX_BODY_BYTES must be at least 1024", validation: (n) => n >= 1024 })
  ),
  txnWait: Config.map(nonNegativeInt("SHOAL_TXN_WAIT_MS", Duration.toMillis(defaults.txnWait)), Duration.millis),
  peerTokenLifetime: Config.succeed(defaults.peerTokenLifetime)
})

/** The running Big Peer's configuration, as a service (handlers read limits from it). */
export class BigPeerSettings extends Context.Tag("@shoal/big-peer/BigPeerSettings")<BigPeerSettings, BigPeerConfig>() {}
