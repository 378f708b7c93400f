/**
 * The budget burst: how much of a hard cap a burst of concurrent calls gets to use, and what the
 * waiting costs — the measurement behind "a cap is never exceeded, and a call is never refused
 * while the cap has room for it".
 *
 * Setup: the built Worker on workerd against the local stack and the provider double (which
 * answers after 50 ms with exactly max_tokens output and serves the providers' token-count
 * endpoints). Each scenario is a fresh account; 200 gpt-4o-mini calls at once, a ~600-word prompt,
 * max_tokens 400, under $0.01 caps:
 *   - one `tenant=*` rule (the case from issue 12);
 *   - seven rules at once, one per scope type (account, tenant, feature, key, user, env, workflow);
 *   - the same seven, with 20 % of the calls streamed and 10 % aborted by the client after the
 *     first bytes.
 * Figures: share of the cap used (Σ recorded cost ÷ cap; the last call's worst case is the only
 * waste), calls refused that would have fit (a refusal whose reason is not "cap"/"over_cap", or
 * whose spent + worst case was within the cap), added wait p50/p99 of admitted calls
 * (x-tollgate-budget-waited-ms), Upstash requests per admitted call, exact-count requests to the
 * provider, and the overshoot (must be 0).
 *
 * `npm run bench:budgets` runs it alone; `npm run bench` runs it at the end and adds its table.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { ADMIT_SCRIPT, SETTLE_SCRIPT } from "../../src/budgets/scripts";
import { nanoToUsd, usdToNano } from "../../src/lib/money";
import { startProviderDouble, upstreamUrls } from "../../test/provider-double/server";
import { buildWorker, WORKER_BUNDLE } from "../build-worker";
import { type Stack, startStack } from "../services/stack";
import { installServerHook, setTracing, trace, watchPort } from "./counters";
import { startOnWorkerd, tollgateCompat } from "./targets";

const CALLS = 200;
const CAP_USD = "0.01";
const PROMPT = "Summarize the quarterly report for the board: revenue, churn, risks and hiring. ".repeat(50);

export interface BurstResult {
  scenario: string;
  calls: number;
  admitted: number;
  refused: number;
  wronglyRefused: number;
  refusedBy: Record<string, number>;
  /** Upstash requests per call (all 200), by kind: admit attempts, blocking pops, settles, the rest. */
  redisPerCall: { admit: number; blpop: number; settle: number; other: number };
  capUsedPct: number;
  overshootNano: string;
  waitP50Ms: number;
  waitP99Ms: number;
  countRequests: number;
  lastWorstCaseUsd: string | null;
}

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

async function admin<T>(base: string, token: string, method: string, p: string, body?: unknown): Promise<T> {
  const res = await fetch(`${base}/admin/v1${p}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`admin ${method} ${p}: ${res.status} ${text.slice(0, 300)}`);
  return (text ? JSON.parse(text) : null) as T;
}

interface Scenario {
  name: string;
  scopes: { type: string; id?: string }[];
  streamedShare: number;
  abortedShare: number;
}

const SEVEN = (keyId: string) => [
  { type: "account" },
  { type: "tenant", id: "*" },
  { type: "feature", id: "chat" },
  { type: "key", id: keyId },
  { type: "user", id: "*" },
  { type: "env", id: "production" },
  { type: "workflow", id: "*" },
];

async function runScenario(
  s: Scenario,
  ctx: { gateway: string; adminToken: string; doubleRequests: () => number; databaseUrl: string },
): Promise<BurstResult> {
  const acc = await admin<{ id: string }>(ctx.gateway, ctx.adminToken, "POST", "/accounts", { name: "burst" });
  const key = await admin<{ id: string; key: string }>(
    ctx.gateway,
    ctx.adminToken,
    "POST",
    `/accounts/${acc.id}/keys`,
    {
      name: "burst",
      owner: "bench@example.com",
      environment: "production",
    },
  );
  await admin(ctx.gateway, ctx.adminToken, "PUT", `/accounts/${acc.id}/providers/openai`, { apiKey: "sk-bench" });
  const scopes = s.scopes.length ? s.scopes : SEVEN(key.id);
  for (const scope of scopes) {
    await admin(ctx.gateway, ctx.adminToken, "POST", `/accounts/${acc.id}/budgets`, {
      scope,
      period: "month",
      capUsd: CAP_USD,
    });
  }
  trace.length = 0;
  setTracing(true);
  const countsBefore = ctx.doubleRequests();
  const outcomes = await Promise.all(
    Array.from({ length: CALLS }, async (_, i) => {
      const streamed = i % 100 < s.streamedShare * 100;
      const aborted = streamed && i % 100 < s.abortedShare * 100;
      const controller = new AbortController();
      const res = await fetch(`${ctx.gateway}/proxy/openai/chat/completions`, {
        method: "POST",
        signal: controller.signal,
        headers: {
          authorization: `Bearer ${key.key}`,
          "content-type": "application/json",
          "x-tollgate-tenant": "acme",
          "x-tollgate-feature": "chat",
          "x-tollgate-user": "user-1",
          "x-tollgate-workflow": "run-1",
          "x-double-output-tokens": "400",
          "x-double-delay-ms": "50",
          ...(streamed ? { "x-double-chunk-delay-ms": "5" } : {}),
        },
        body: JSON.stringify({
          model: "gpt-4o-mini",
          max_tokens: 400,
          stream: streamed,
          messages: [{ role: "user", content: PROMPT }],
        }),
      });
      const waited = Number(res.headers.get("x-tollgate-budget-waited-ms") ?? 0);
      if (res.status === 200 && aborted) {
        // Read the first bytes, then hang up: the gateway still meters what the provider reports.
        const reader = res.body!.getReader();
        await reader.read();
        controller.abort();
        await reader.cancel().catch(() => {});
        return { status: 200, waited, error: null };
      }
      const text = await res.text();
      const error = res.status === 200 ? null : ((JSON.parse(text) as { error: Record<string, string> }).error ?? null);
      return { status: res.status, waited, error };
    }),
  );
  const admitted = outcomes.filter((o) => o.status === 200);
  const refused = outcomes.filter((o) => o.status !== 200);
  const cap = usdToNano(CAP_USD);
  // Judged after the fact: a refused call "would have fit" if the room left once everything settled
  // was at least its worst case (a refusal while holds were still in flight is not by itself wrong).
  const wronglyRefused = (finalSpent: bigint) =>
    refused.filter((o) => !o.error?.worst_case_usd || cap - finalSpent >= usdToNano(o.error.worst_case_usd)).length;
  // Every admitted call's record (the aborted ones too: the provider's usage still arrives).
  const client = new pg.Client({ connectionString: ctx.databaseUrl });
  await client.connect();
  let costNano = 0n;
  try {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const r = await client.query(
        "select count(*)::int as n, coalesce(sum(cost_nano), 0)::text as cost from request_records where account_id = $1",
        [acc.id],
      );
      costNano = BigInt(r.rows[0].cost);
      if (r.rows[0].n >= admitted.length || Date.now() > deadline) break;
      await new Promise((res) => setTimeout(res, 200));
    }
  } finally {
    await client.end();
  }
  const lastWorst = refused.find((o) => o.error?.worst_case_usd)?.error?.worst_case_usd ?? null;
  const commands = { admit: 0, blpop: 0, settle: 0, other: 0 };
  for (const ev of trace) {
    if (ev.service !== "upstash") continue;
    const body = ev.body ?? "";
    if (body.includes(ADMIT_SCRIPT.sha1) || body.includes("-- ADMIT")) commands.admit++;
    else if (body.includes(SETTLE_SCRIPT.sha1) || body.includes("-- SETTLE")) commands.settle++;
    else if (/"BLPOP"/i.test(body)) commands.blpop++;
    else commands.other++;
  }
  trace.length = 0;
  setTracing(false);
  const reasons: Record<string, number> = {};
  for (const o of refused) {
    const why = String(o.error?.reason ?? o.error?.code ?? o.status);
    reasons[why] = (reasons[why] ?? 0) + 1;
  }
  return {
    scenario: s.name,
    calls: CALLS,
    admitted: admitted.length,
    refused: refused.length,
    wronglyRefused: wronglyRefused(costNano),
    refusedBy: reasons,
    redisPerCall: {
      admit: Math.round((commands.admit / CALLS) * 100) / 100,
      blpop: Math.round((commands.blpop / CALLS) * 100) / 100,
      settle: Math.round((commands.settle / CALLS) * 100) / 100,
      other: Math.round((commands.other / CALLS) * 100) / 100,
    },
    capUsedPct: Math.round((Number(costNano) / Number(cap)) * 1000) / 10,
    overshootNano: String(costNano > cap ? costNano - cap : 0n),
    waitP50Ms: pct(
      admitted.map((o) => o.waited),
      50,
    ),
    waitP99Ms: pct(
      admitted.map((o) => o.waited),
      99,
    ),
    countRequests: ctx.doubleRequests() - countsBefore,
    lastWorstCaseUsd: lastWorst,
  };
}

/** Runs every scenario against a Tollgate Worker started on `stack`; returns the figures. */
export async function runBudgetBursts(stack: Stack): Promise<BurstResult[]> {
  installServerHook();
  watchPort(Number(new URL(stack.upstashUrl).port), "upstash");
  const double = await startProviderDouble({ port: 0 });
  const adminToken = randomBytes(24).toString("base64url");
  await buildWorker();
  const tg = await startOnWorkerd({
    name: "tollgate-burst",
    scriptPath: WORKER_BUNDLE,
    ...tollgateCompat(),
    bindings: { ...stack.workerVars, TOLLGATE_ADMIN_TOKEN: adminToken, FAIL_MODE: "open", ...upstreamUrls(double.url) },
  });
  const doubleRequests = () => double.requests.filter((r) => r.path.endsWith("/responses/input_tokens")).length;
  try {
    const ctx = { gateway: tg.origin, adminToken, doubleRequests, databaseUrl: stack.databaseUrl };
    const results: BurstResult[] = [];
    for (const s of [
      { name: "tenant=* cap", scopes: [{ type: "tenant", id: "*" }], streamedShare: 0, abortedShare: 0 },
      { name: "7 scopes at once", scopes: [], streamedShare: 0, abortedShare: 0 },
      { name: "7 scopes, 20 % streamed, 10 % aborted", scopes: [], streamedShare: 0.2, abortedShare: 0.1 },
    ] as Scenario[]) {
      results.push(await runScenario(s, ctx));
    }
    return results;
  } finally {
    await tg.stop();
    await double.close();
  }
}

export function burstMarkdown(results: BurstResult[]): string[] {
  const goal = (ok: boolean) => (ok ? "met" : "**not met**");
  return [
    "## Budget burst (200 concurrent calls, $0.01 caps)",
    "",
    "gpt-4o-mini, ~600-word prompt, max_tokens 400, the provider double answering after 50 ms. Goals: ≥ 95 % of the cap used, 0 calls refused that would have fit, 0 overshoot.",
    "",
    "| scenario | admitted / refused (why) | cap used | would have fit, refused | overshoot | added wait p50 / p99 | Upstash per call: admit / BLPOP / settle / other | exact counts asked | goals |",
    "|---|---|---|---|---|---|---|---|---|",
    ...results.map(
      (r) =>
        `| ${r.scenario} | ${r.admitted} / ${r.refused} (${Object.entries(r.refusedBy)
          .map(([k, v]) => `${k} ${v}`)
          .join(
            ", ",
          )}) | ${r.capUsedPct} % | ${r.wronglyRefused} | $${nanoToUsd(BigInt(r.overshootNano))} | ${r.waitP50Ms} / ${r.waitP99Ms} ms | ${r.redisPerCall.admit} / ${r.redisPerCall.blpop} / ${r.redisPerCall.settle} / ${r.redisPerCall.other} | ${r.countRequests} | ${goal(r.capUsedPct >= 95 && r.wronglyRefused === 0 && r.overshootNano === "0")} |`,
    ),
    "",
    'Per call, over all 200: admit = ADMIT attempts (a call near the cap makes two: the first, on the byte bound, asks for the exact count; a waiter without a hand-off makes a last one), BLPOP = blocking pops of waiting calls, settle = SETTLE (with the record in the same pipelined request), other = the key and account-settings reads of a cold isolate (200 calls arrive before the first one fills its cache) and the record flush. Far from every cap a call makes 1 admit + 1 settle. A refusal is counted as "would have fit" when the room left once everything settled is at least its worst case.',
  ];
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "tollgate-burst-"));
  const stack = await startStack({ dataDir, persist: false });
  try {
    const results = await runBudgetBursts(stack);
    console.log(burstMarkdown(results).join("\n"));
  } finally {
    await stack.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}
