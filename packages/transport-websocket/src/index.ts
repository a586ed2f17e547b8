/**
 * @shoal/transport-websocket — the core `Transport` over WebSocket (`ws`):
 * client dial, standalone or attached server, backpressure both ways, and a
 * reconnect helper.
 */
export * as WebSocketTransport from "./WebSocketTransport.js"
