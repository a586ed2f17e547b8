export * from "./ReplicaStore.js"
export * as DocFold from "./DocFold.js"
export * from "./Errors.js"
export type { DocRecord } from "./DocFold.js"
