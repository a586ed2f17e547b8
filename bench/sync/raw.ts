// Child process of the sync bench: the raw limit. The same documents as
// msgpack batches over one `ws` connection, inserted with a prepared
// better-sqlite3 statement in one transaction per batch (WAL, synchronous=NORMAL, the replica's checkpoint interval).
//   raw-receiver --dir D --port P --count N      prints {"ready"} then {"done", ms}
//   raw-sender   --url U --count N
import Database from "better-sqlite3"
import { Packr } from "msgpackr"
import { join } from "node:path"
import { parseArgs } from "node:util"
import { WebSocket, WebSocketServer } from "ws"
import { benchDocs } from "./docs.js"

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { dir: { type: "string" }, port: { type: "string" }, url: { type: "string" }, count: { type: "string" } }
})
const packr = new Packr({ useRecords: false })
const count = Number(values.count)
const print = (v: unknown) => process.stdout.write(JSON.stringify(v) + "\n")

if (positionals[0] === "raw-receiver") {
  const db = new Database(join(values.dir!, "raw.db"))
  db.pragma("journal_mode = WAL")
  db.pragma("synchronous = NORMAL")
  // The replica's checkpoint interval too (ReplicaStore.WAL_AUTOCHECKPOINT_PAGES).
  db.pragma("wal_autocheckpoint = 10000")
  db.exec("CREATE TABLE IF NOT EXISTS items (id TEXT PRIMARY KEY, body TEXT NOT NULL)")
  const insert = db.prepare("INSERT OR REPLACE INTO items (id, body) VALUES (?, ?)")
  const insertAll = db.transaction((docs: ReadonlyArray<{ _id: string }>) => {
    for (const d of docs) insert.run(d._id, JSON.stringify(d))
  })
  // Start-up garbage collected before the clock, as in the Shoal receiver.
  const gc: unknown = Reflect.get(globalThis, "gc")
  if (typeof gc === "function") gc()
  const server = new WebSocketServer({ host: "127.0.0.1", port: Number(values.port) })
  server.on("listening", () => print({ ready: true }))
  server.on("connection", (ws) => {
    const started = performance.now()
    let got = 0
    let bytes = 0
    ws.on("message", (data: Buffer) => {
      bytes += data.length
      const docs: ReadonlyArray<{ _id: string }> = packr.unpack(data)
      insertAll(docs)
      got += docs.length
      if (got >= count) print({ done: true, ms: performance.now() - started, bytes })
    })
  })
} else {
  const ws = new WebSocket(values.url!)
  ws.on("open", () => {
    const docs = benchDocs(count)
    for (let i = 0; i < docs.length; i += 1000) ws.send(packr.pack(docs.slice(i, i + 1000)))
  })
}
