import { defineConfig } from "vitest/config"
export default defineConfig({
  resolve: { alias: { "@shoal/core": "/tmp/shim/core.ts" } },
  test: { include: ["packages/client/test/**/*.test.ts", "packages/big-peer/test/auth*.test.ts", "packages/core/test/Permissions.test.ts"], testTimeout: 60000 }
})
