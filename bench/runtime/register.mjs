// `node --import ./bench/runtime/register.mjs x.ts`: runs TypeScript the way a
// production build would (esbuild's plain transform), for benchmarks. tsx,
// which `npm start` and the tests use, keeps function names by wrapping every
// closure in a `__name(…)` call; on the hot paths that cost 15–20% of the CPU
// (docs/benchmarks.md), which would measure the dev tool, not Shoal.
import { register } from "node:module"

register("./hooks.mjs", import.meta.url)
