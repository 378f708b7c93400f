/**
 * The budget-lease simulation: `npx tsx scripts/sim/leases.ts` prints, per scenario of
 * scripts/sim/scenarios.ts, per-call holds against leases (and leases with the per-call key
 * read that keeps revocation immediate), plus one deliberately broken lease protocol in the
 * burst scenario to show the checker catching it. docs/budget-leases.md explains the columns.
 *
 * Flags: --seed N (default 1), --window MS (the lease window W), --only TEXT (scenarios whose
 * name contains it), --broken (the broken variants in every scenario), --json (raw results).
 */
import { type Result, runScenario } from "./leases-model";
import { type Broken, DEFAULT_PROTOCOL, type Mode, type ProtocolConfig } from "./policy";
import { SCENARIOS } from "./scenarios";

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const seed = Number(flag("seed") ?? 1);
const windowMs = Number(flag("window") ?? DEFAULT_PROTOCOL.lease.windowMs);
const only = flag("only");
const allBroken = args.includes("--broken");
const json = args.includes("--json");

const base: ProtocolConfig = { ...DEFAULT_PROTOCOL, lease: { ...DEFAULT_PROTOCOL.lease, windowMs } };
const MODES: Mode[] = ["per-call", "lease", "lease+check"];
const BROKEN: Broken[] = ["no-shrink", "refund-in-flight", "short-expiry"];

// Display only: the amounts themselves stay integer nano-USD.
const usd = (nano: number) => `$${(nano / 1e9).toFixed(nano >= 1e9 ? 2 : 4)}`;
const pct = (permille: number) => `${(permille / 10).toFixed(1)} %`;

function row(label: string, r: Result): string {
  const strand = r.stranded;
  const cells = [
    label,
    r.overshootNano === 0 && r.violations === 0 ? "0" : `**${usd(r.overshootNano)}**, ${r.violations} breaches`,
    r.capUsed ? `${pct(r.capUsed.minPermille)}` : "–",
    `${r.refusedInFlight} / ${r.wouldHaveFit}`,
    r.roundTripsPerCall.toFixed(2),
    `${Math.round((100 * r.local) / Math.max(1, r.admitted))} %`,
    `${r.msBeforeForward.mean.toFixed(0)} / ${r.msBeforeForward.p99.toFixed(0)}`,
    r.redisRequestsPerCall.toFixed(2),
    r.redisCommandsPerCall.toFixed(1),
    strand.maxNano === 0
      ? "0"
      : `${usd(strand.maxNano)} (${pct(strand.maxPermilleOfCap)}) ≤ ${Math.ceil(strand.maxSeconds)} s`,
    r.revocation ? `${r.revocation.admittedAfter} (≤ ${(r.revocation.maxLagMs / 1000).toFixed(1)} s)` : "–",
  ];
  if (!r.conserved || r.leftoverNano !== 0 || r.clampedReports !== 0) cells[0] += " (accounting broken)";
  return `| ${cells.join(" | ")} |`;
}

const HEADER = [
  "| protocol | overshoot | cap used | refused in flight / would have fit | RT before fwd / call | local | ms before fwd mean / p99 | Redis req / call | Redis cmds / call | stranded by dead isolates | revoked key admitted after |",
  "|---|---|---|---|---|---|---|---|---|---|---|",
].join("\n");

const results: Result[] = [];
console.log(
  `seed ${seed}, lease window ${windowMs} ms, ${base.lease.share}× share, min ${base.lease.minCalls} calls, stop at ${base.lease.stopPct} %\n`,
);
for (const s of SCENARIOS) {
  if (only && !s.name.includes(only)) continue;
  const lines = [`### ${s.name}: ${s.about}`, ""];
  const broken = allBroken || s.name === "burst to the cap, actual = worst" ? BROKEN : [];
  let calls = 0;
  const rows: string[] = [];
  for (const mode of MODES) {
    const r = runScenario(s, mode, seed, base);
    calls = r.calls;
    results.push(r);
    rows.push(row(mode, r));
  }
  for (const b of broken) {
    const r = runScenario(s, "lease", seed, { ...base, lease: { ...base.lease, broken: b } });
    results.push(r);
    rows.push(row(`lease, broken: ${b}`, r));
  }
  lines.push(
    `${calls} calls, ${s.workload.regionRttMs.length} regions × ${s.workload.isolatesPerRegion} isolates.`,
    "",
  );
  lines.push(HEADER, ...rows, "");
  if (!json) console.log(lines.join("\n"));
}
if (json) console.log(JSON.stringify(results, null, 2));
