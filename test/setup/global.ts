/**
 * vitest globalSetup for the e2e project: the whole local stack on random free ports — real
 * redis-server behind the Upstash REST endpoint, real Postgres behind the Neon WebSocket relay,
 * the provider double, and the built Worker on workerd. Tests read the addresses with inject().
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { buildWorker } from "../../scripts/build-worker";
import { startStack } from "../../scripts/services/stack";
import { CLOCK_OFFSET_BINDING } from "../../src/lib/clock";
import { startProviderDouble, upstreamUrls } from "../provider-double/server";
import { startWorker } from "./worker";

export interface StackInfo {
  gatewayUrl: string;
  adminToken: string;
  databaseUrl: string;
  redisUrl: string;
  redisPort: number;
  upstashUrl: string;
  upstashToken: string;
  doubleUrl: string;
  /** The vars the gateway runs with, so a test can start a second Worker with a variation. */
  workerVars: Record<string, string>;
}

declare module "vitest" {
  export interface ProvidedContext {
    stack: StackInfo;
  }
}

export default async function setup(project: TestProject) {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "tollgate-test-"));
  const [stack, double] = await Promise.all([
    startStack({ dataDir, persist: false }),
    startProviderDouble({ port: 0 }),
    buildWorker(),
  ]);
  const adminToken = randomBytes(24).toString("base64url");
  const workerVars = {
    ...stack.workerVars,
    TOLLGATE_ADMIN_TOKEN: adminToken,
    FAIL_MODE: "open",
    // The date guard (test/setup/clock.ts): the Worker's clock moves with the tests'.
    [CLOCK_OFFSET_BINDING]: process.env[CLOCK_OFFSET_BINDING] ?? "0",
    // Every built-in provider pointed at the double, each under its own style prefix.
    ...upstreamUrls(double.url),
  };
  const worker = await startWorker(workerVars);
  project.provide("stack", {
    gatewayUrl: worker.url,
    adminToken,
    databaseUrl: stack.databaseUrl,
    redisUrl: stack.redisUrl,
    redisPort: stack.redisPort,
    upstashUrl: stack.upstashUrl,
    upstashToken: stack.upstashToken,
    doubleUrl: double.url,
    workerVars,
  });
  return async () => {
    await worker.stop().catch(() => {});
    await double.close().catch(() => {});
    await stack.stop();
    await rm(dataDir, { recursive: true, force: true });
  };
}
