// Module hooks for register.mjs: `.ts` files are transformed with esbuild
// (no keepNames), and a relative `./x.js` import finds `./x.ts`, as with
// TypeScript's NodeNext resolution.
import { transform } from "esbuild"
import { readFile } from "node:fs/promises"
import { fileURLToPath } from "node:url"

export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context)
  } catch (error) {
    const relative = specifier.startsWith("./") || specifier.startsWith("../")
    if (relative && specifier.endsWith(".js") && error?.code === "ERR_MODULE_NOT_FOUND") {
      return next(`${specifier.slice(0, -3)}.ts`, context)
    }
    throw error
  }
}

export async function load(url, context, next) {
  if (!url.startsWith("file:") || !url.endsWith(".ts")) return next(url, context)
  const path = fileURLToPath(url)
  const out = await transform(await readFile(path, "utf8"), {
    loader: "ts",
    format: "esm",
    target: "node20",
    sourcefile: path,
    sourcemap: "inline"
  })
  return { format: "module", source: out.code, shortCircuit: true }
}
