/**
 * Authentication building blocks of the Big Peer: app signing keys, signed
 * access tokens, the auth webhook client, API keys, playground tokens and
 * bearer credential parsing. The server wires them together; permissions
 * themselves are `Permissions` of `@shoal/core`.
 */
export * as ApiKeys from "./ApiKeys.js"
export * as AppKeys from "./AppKeys.js"
export * as AuthWebhook from "./AuthWebhook.js"
export * as Credential from "./Credential.js"
export * as PlaygroundToken from "./PlaygroundToken.js"
export * as Tokens from "./Tokens.js"
