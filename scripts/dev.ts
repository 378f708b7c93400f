/**
 * `npm run dev`: the whole gateway on this machine, no cloud account. Starts the local stack
 * (scripts/services/stack.ts) with its data kept in .tollgate/, then `wrangler dev` pointed at it,
 * waits for GET /health to see Redis and Postgres, prints the addresses and writes them to
 * .tollgate/dev.json. Ctrl-C / SIGTERM stops every child and frees every port.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../src/config";
import { freePort } from "./services/ports";
import { type Stack, startStack } from "./services/stack";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");
const stateDir = path.join(root, ".tollgate");

/** Variables the user may give `npm run dev` that the Worker should see. */
function passThroughVars(): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value === undefined) continue;
    if (
      /^UPSTREAM_[A-Z0-9_]+_URL$/.test(name) ||
      /^(FAIL_MODE|TOLLGATE_[A-Z0-9_]+|ALERT_[A-Z0-9_]+|EMAIL_[A-Z0-9_]+|OTEL_[A-Z0-9_]+)$/.test(name)
    ) {
      vars[name] = value;
    }
  }
  return vars;
}

/** $TOLLGATE_ADMIN_TOKEN, else the token generated on a previous run, else a new one. */
function adminToken(): string {
  if (process.env.TOLLGATE_ADMIN_TOKEN) return process.env.TOLLGATE_ADMIN_TOKEN;
  const file = path.join(stateDir, "dev.json");
  if (existsSync(file)) {
    try {
      const previous = JSON.parse(readFileSync(file, "utf8")) as { adminToken?: string; generatedAdminToken?: boolean };
      if (previous.generatedAdminToken && previous.adminToken) return previous.adminToken;
    } catch {
      // A damaged file: generate a new token.
    }
  }
  return `tgadmin_${randomBytes(24).toString("base64url")}`;
}

async function waitForHealth(url: string, child: ChildProcess, timeoutMs: number): Promise<unknown> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer yet";
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited with code ${child.exitCode}`);
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(5000) });
      const body = (await res.json()) as { ok?: boolean; redis?: { ok: boolean }; postgres?: { ok: boolean } };
      if (res.ok && body.redis?.ok && body.postgres?.ok) return body;
      last = JSON.stringify(body);
    } catch (err) {
      last = String(err);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`the gateway did not become healthy within ${timeoutMs / 1000} s (last: ${last})`);
}

async function main() {
  const started = Date.now();
  const port = Number(process.env.PORT || 8787);
  await mkdir(stateDir, { recursive: true });
  const token = adminToken();

  let stack: Stack | undefined;
  let wrangler: ChildProcess | undefined;
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    if (wrangler?.pid && wrangler.exitCode === null) {
      // wrangler starts workerd and esbuild children: stop the whole process group.
      const exited = new Promise((r) => wrangler?.once("exit", r));
      try {
        process.kill(-wrangler.pid, "SIGTERM");
      } catch {}
      const timer = setTimeout(() => {
        try {
          process.kill(-(wrangler?.pid ?? 0), "SIGKILL");
        } catch {}
      }, 5000);
      await exited;
      clearTimeout(timer);
    }
    await stack?.stop();
    process.exit(code);
  };
  process.on("SIGINT", () => void stop(0));
  process.on("SIGTERM", () => void stop(0));

  try {
    stack = await startStack({ dataDir: stateDir, persist: true });
    const vars = { ...stack.workerVars, TOLLGATE_ADMIN_TOKEN: token, ...passThroughVars() };
    // The Worker's own validation, before wrangler starts: a bad variable is reported now, in one
    // line per variable, rather than as a gateway that never turns healthy.
    loadConfig(vars);
    // Vars go through a file, not the command line, so secrets do not show in `ps`.
    const envFile = path.join(stateDir, "worker.env");
    await writeFile(
      envFile,
      Object.entries(vars)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join("\n") + "\n",
      {
        mode: 0o600,
      },
    );
    const inspectorPort = await freePort();
    wrangler = spawn(
      path.join(root, "node_modules", ".bin", "wrangler"),
      [
        "dev",
        "--ip",
        "127.0.0.1",
        "--port",
        String(port),
        "--inspector-port",
        String(inspectorPort),
        "--env-file",
        envFile,
        "--persist-to",
        path.join(stateDir, "wrangler"),
        "--show-interactive-dev-session=false",
        "--log-level",
        process.env.WRANGLER_LOG_LEVEL ?? "warn",
      ],
      {
        cwd: root,
        detached: true,
        stdio: ["ignore", "inherit", "inherit"],
        env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", CI: "true" },
      },
    );
    wrangler.on("exit", (code) => {
      if (!stopping) {
        console.error(`wrangler dev exited (code ${code}); stopping the stack.`);
        void stop(code || 1);
      }
    });
    const gatewayUrl = `http://127.0.0.1:${port}`;
    await waitForHealth(gatewayUrl, wrangler, 90_000);
    const info = {
      gatewayUrl,
      adminToken: token,
      databaseUrl: stack.databaseUrl,
      redisUrl: stack.redisUrl,
      upstashUrl: stack.upstashUrl,
      upstashToken: stack.upstashToken,
      generatedAdminToken: !process.env.TOLLGATE_ADMIN_TOKEN,
    };
    await writeFile(path.join(stateDir, "dev.json"), JSON.stringify(info, null, 2) + "\n", { mode: 0o600 });
    console.log(
      [
        "",
        `Tollgate is up (${((Date.now() - started) / 1000).toFixed(1)} s):`,
        `  gateway      ${info.gatewayUrl}`,
        `  admin token  ${info.adminToken}`,
        `  postgres     ${info.databaseUrl}`,
        ...(stack.postgresDataDir.startsWith(stateDir)
          ? []
          : [`               data in ${stack.postgresDataDir} (the postgres user cannot enter this checkout)`]),
        `  redis        ${info.redisUrl}`,
        `  upstash REST ${info.upstashUrl}  (token ${info.upstashToken})`,
        `  written to   .tollgate/dev.json — Ctrl-C stops everything`,
        "",
      ].join("\n"),
    );
  } catch (err) {
    console.error(`npm run dev failed: ${err instanceof Error ? err.message : String(err)}`);
    await stop(1);
  }
}

void main();
