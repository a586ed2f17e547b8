/**
 * The authentication webhook of `online-with-authentication` apps.
 *
 * The Big Peer POSTs `{ appID, version: "1", provider, token }` as JSON to
 * the app's webhook URL; the provider answers
 * `{ authenticate, expirationSeconds, userID, permissions: { read, write } }`
 * (Ditto's shape). An accepted answer is decoded into an {@link Authenticated}
 * (then turned into a signed token by the caller); everything else is a typed
 * error: {@link AuthRejected} when the provider refuses the credential,
 * {@link AuthProviderError} when it cannot be asked or answers nonsense
 * (unreachable, timeout, non-2xx, malformed JSON or shape).
 *
 * Transport errors, timeouts and 5xx are retried with exponential backoff a
 * bounded number of times; 4xx and refusals are not retried.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { Permissions } from "@shoal/core"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"

/** The body POSTed to the webhook. */
export const WebhookRequest = Schema.Struct({
  appID: Schema.String,
  version: Schema.Literal("1"),
  provider: Schema.String,
  token: Schema.String
})
/** See {@link WebhookRequest}. */
export type WebhookRequest = typeof WebhookRequest.Type

/** A webhook answer accepting the user. `userInfo` is optional provider data, passed through untouched. */
export const WebhookAccept = Schema.Struct({
  authenticate: Schema.Literal(true),
  expirationSeconds: Schema.Int.pipe(Schema.positive()),
  userID: Schema.String.pipe(Schema.nonEmptyString()),
  permissions: Permissions.Permissions,
  userInfo: Schema.optionalWith(Schema.Unknown, { exact: true })
})

/** A webhook answer refusing the user; the other fields are optional and ignored except `userInfo` (a reason). */
export const WebhookRefuse = Schema.Struct({
  authenticate: Schema.Literal(false),
  userInfo: Schema.optionalWith(Schema.Unknown, { exact: true })
})

/** A webhook answer. */
export const WebhookAnswer = Schema.Union(WebhookAccept, WebhookRefuse)
/** See {@link WebhookAnswer}. */
export type WebhookAnswer = typeof WebhookAnswer.Type

/** An accepted user. */
export interface Authenticated {
  readonly appId: string
  readonly provider: string
  readonly userId: string
  readonly permissions: Permissions.Permissions
  /** How long the issued token should live. */
  readonly expirationSeconds: number
  /** Provider data (`userInfo`), if any. */
  readonly userInfo?: unknown
}

/** The provider refused the credential (`authenticate: false`). */
export class AuthRejected extends Schema.TaggedError<AuthRejected>()("AuthRejected", {
  appId: Schema.String,
  provider: Schema.String,
  /** The provider's `userInfo`, when it gave a string. */
  reason: Schema.optionalWith(Schema.String, { exact: true })
}) {
  /** `authentication refused by provider "<provider>" of app "<appId>"[: reason]` */
  override get message(): string {
    return `authentication refused by provider ${JSON.stringify(this.provider)} of app ${JSON.stringify(this.appId)}${
      this.reason !== undefined ? `: ${this.reason}` : ""
    }`
  }
}

/** The provider could not be asked, or answered something other than a valid answer. */
export class AuthProviderError extends Schema.TaggedError<AuthProviderError>()("AuthProviderError", {
  appId: Schema.String,
  provider: Schema.String,
  reason: Schema.String
}) {
  /** `auth webhook of app "<appId>" failed: <reason>` */
  override get message(): string {
    return `auth webhook of app ${JSON.stringify(this.appId)} (provider ${JSON.stringify(this.provider)}) failed: ${this.reason}`
  }
}

/** Timeouts and retries of webhook calls. */
export interface WebhookOptions {
  /** Per-attempt timeout (default 5 seconds). */
  readonly timeout?: Duration.DurationInput
  /** Retries after the first attempt, on transport errors, timeouts and 5xx (default 3). */
  readonly retries?: number
  /** First backoff delay, doubled each retry, jittered (default 200 ms). */
  readonly retryBaseDelay?: Duration.DurationInput
}

/** One authentication request. */
export interface AuthenticateRequest {
  readonly appId: string
  /** The app's webhook URL. */
  readonly url: string
  /** The provider name the client asked for (passed to the webhook). */
  readonly provider: string
  /** The client's credential for that provider (forwarded, never logged). */
  readonly token: string | Redacted.Redacted<string>
}

type Attempt = HttpClientError.HttpClientError | { readonly _tag: "TimeoutException" }

const isRetryable = (e: Attempt): boolean =>
  e._tag === "TimeoutException" ||
  (e._tag === "RequestError" && e.reason === "Transport") ||
  (e._tag === "ResponseError" && e.reason === "StatusCode" && e.response.status >= 500)

const describe = (e: Attempt): string => {
  switch (e._tag) {
    case "TimeoutException":
      return "timed out"
    case "RequestError":
      return `request failed (${e.reason}): ${e.cause instanceof Error ? e.cause.message : e.message}`
    case "ResponseError":
      return e.reason === "StatusCode"
        ? `answered HTTP ${e.response.status}`
        : `unreadable answer (HTTP ${e.response.status}): ${e.cause instanceof Error ? e.cause.message : e.message}`
  }
}

/**
 * Asks the app's webhook to authenticate a credential. Needs an `HttpClient`
 * (see {@link AuthWebhook.layerNode} for a ready service).
 */
export const authenticate = (
  request: AuthenticateRequest,
  options: WebhookOptions = {}
): Effect.Effect<Authenticated, AuthRejected | AuthProviderError, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const client = (yield* HttpClient.HttpClient).pipe(HttpClient.filterStatusOk)
    const body: WebhookRequest = {
      appID: request.appId,
      version: "1",
      provider: request.provider,
      token: Redacted.isRedacted(request.token) ? Redacted.value(request.token) : request.token
    }
    const providerError = (reason: string) =>
      new AuthProviderError({ appId: request.appId, provider: request.provider, reason })

    const attempt = client
      .execute(
        HttpClientRequest.post(request.url).pipe(
          HttpClientRequest.acceptJson,
          HttpClientRequest.bodyUnsafeJson(body)
        )
      )
      .pipe(
        Effect.flatMap((response) => response.json),
        Effect.timeout(options.timeout ?? "5 seconds")
      )

    const json = yield* attempt.pipe(
      Effect.retry({
        schedule: Schedule.exponential(options.retryBaseDelay ?? "200 millis").pipe(Schedule.jittered),
        times: options.retries ?? 3,
        while: isRetryable
      }),
      Effect.mapError((e) => providerError(describe(e)))
    )

    const answer = yield* Schema.decodeUnknown(WebhookAnswer)(json).pipe(
      Effect.mapError((e) => providerError(`malformed answer: ${e.message}`))
    )
    if (!answer.authenticate) {
      return yield* new AuthRejected({
        appId: request.appId,
        provider: request.provider,
        ...(typeof answer.userInfo === "string" ? { reason: answer.userInfo } : {})
      })
    }
    const accepted: Authenticated = {
      appId: request.appId,
      provider: request.provider,
      userId: answer.userID,
      permissions: answer.permissions,
      expirationSeconds: answer.expirationSeconds,
      ...(answer.userInfo !== undefined ? { userInfo: answer.userInfo } : {})
    }
    return accepted
  }).pipe(Effect.withSpan("AuthWebhook.authenticate", { attributes: { appId: request.appId, provider: request.provider } }))

/** The webhook client as a service, with its options fixed. */
export class AuthWebhook extends Context.Tag("@shoal/big-peer/AuthWebhook")<AuthWebhook, {
  readonly authenticate: (request: AuthenticateRequest) => Effect.Effect<Authenticated, AuthRejected | AuthProviderError>
}>() {
  /** The service over the `HttpClient` in context. */
  static readonly layer = (options: WebhookOptions = {}): Layer.Layer<AuthWebhook, never, HttpClient.HttpClient> =>
    Layer.effect(
      AuthWebhook,
      Effect.map(HttpClient.HttpClient, (client) => ({
        authenticate: (request) =>
          authenticate(request, options).pipe(Effect.provideService(HttpClient.HttpClient, client))
      }))
    )

  /** The service over Node's undici HTTP client. */
  static readonly layerNode = (options: WebhookOptions = {}): Layer.Layer<AuthWebhook> =>
    AuthWebhook.layer(options).pipe(Layer.provide(NodeHttpClient.layerUndici))
}
