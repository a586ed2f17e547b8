// One vitest project per package; each package's vitest.config.ts names it.
export const projects = ["packages/*"] as const
