// Vitest 3.2: `test.projects` replaces vitest.workspace.ts (kept as a re-export
// for tools that still look for it). Every package folder is one project.
import { defineConfig } from "vitest/config"
import { projects } from "./vitest.workspace.js"

export default defineConfig({
  test: { projects: [...projects] }
})
