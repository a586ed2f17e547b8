#!/usr/bin/env node
// The `shoal` binary: runs packages/cli/src/main.ts without a build step.
//
// Loading Effect through tsx's module hooks costs ~3 s per start (every one
// of Effect's modules goes through the hook thread), so the launcher bundles
// the workspace's TypeScript sources with the esbuild that tsx ships (npm
// packages stay external imports) into node_modules/.cache next to this file,
// reuses that bundle while no source file changed, and imports it: ~1 s.
// If anything about that fails, or SHOAL_CLI_TSX=1, it falls back to tsx.
import { createRequire } from "node:module"
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const here = dirname(fileURLToPath(import.meta.url))
const entry = join(here, "..", "src", "main.ts")
const cacheDir = join(here, "..", "node_modules", ".cache", "shoal-cli")
const bundle = join(cacheDir, "main.mjs")
const manifest = join(cacheDir, "inputs.json")

const stamp = (file) => {
  const st = statSync(file)
  return `${st.size}:${st.mtimeMs}`
}

/** The cached bundle, if every input it was built from is unchanged. */
const cached = () => {
  try {
    const inputs = JSON.parse(readFileSync(manifest, "utf8"))
    for (const [file, s] of Object.entries(inputs)) if (stamp(file) !== s) return undefined
    statSync(bundle)
    return bundle
  } catch {
    return undefined
  }
}

const rebuild = async () => {
  const require = createRequire(createRequire(import.meta.url).resolve("tsx/package.json"))
  const { build } = await import(pathToFileURL(require.resolve("esbuild")).href)
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    write: false,
    metafile: true,
    logLevel: "silent",
    plugins: [{
      name: "npm-external",
      setup(b) {
        // Only the workspace packages (TypeScript sources) go into the bundle.
        b.onResolve({ filter: /^[^./]/ }, (args) => (args.path.startsWith("@shoal/") ? undefined : { external: true }))
      }
    }]
  })
  const inputs = {}
  for (const file of Object.keys(result.metafile.inputs)) {
    const abs = join(process.cwd(), file)
    inputs[abs] = stamp(abs)
  }
  mkdirSync(cacheDir, { recursive: true })
  // Concurrent starts may rebuild at once: write aside, then rename into place.
  const tmp = `${bundle}.${process.pid}.tmp`
  writeFileSync(tmp, result.outputFiles[0].contents)
  renameSync(tmp, bundle)
  writeFileSync(`${manifest}.${process.pid}.tmp`, JSON.stringify(inputs))
  renameSync(`${manifest}.${process.pid}.tmp`, manifest)
  return bundle
}

const viaTsx = async () => {
  const { register } = await import("tsx/esm/api")
  register()
  await import(pathToFileURL(entry).href)
}

if (process.env.SHOAL_CLI_TSX === "1") {
  await viaTsx()
} else {
  let file
  try {
    file = cached() ?? (await rebuild())
  } catch {
    file = undefined
  }
  if (file === undefined) await viaTsx()
  else await import(pathToFileURL(file).href)
}
