import { defineConfig } from "vitest/config";

// Two projects: `unit` runs pure modules in Node with nothing started; `e2e` starts the whole
// local stack once (real redis-server, the Upstash-protocol endpoint, real Postgres, the Neon
// WebSocket relay, the provider double, and the built Worker on workerd) in its globalSetup.
// test/setup/clock.ts is the date guard: TOLLGATE_TEST_CLOCK_OFFSET_MS shifts the tests' and the
// Worker's clocks together (.ci/run uses it).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["src/**/*.test.{ts,tsx}", "scripts/**/*.test.ts", "pricing/**/*.test.ts", "test/unit/**/*.test.ts"],
          environment: "node",
          setupFiles: ["test/setup/clock.ts"],
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          environment: "node",
          setupFiles: ["test/setup/clock.ts"],
          globalSetup: ["test/setup/global.ts"],
          testTimeout: 30_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
