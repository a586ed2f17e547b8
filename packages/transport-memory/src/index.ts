/**
 * @shoal/transport-memory — a simulated network (latency, bandwidth, loss,
 * reordering, partitions, crashes) providing the core `Transport` service.
 */
export * as MemoryNetwork from "./MemoryNetwork.js"
