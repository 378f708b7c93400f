/** Wallets written straight into Redis, as src/billing/store.ts would load them from Postgres. */
import type { Redis } from "@upstash/redis/cloudflare";
import { billingKeys, grantField } from "../../src/billing/keys";
import { WALLET_LOAD_SCRIPT } from "../../src/billing/scripts";
import { type AdmitInput, admit, settle } from "../../src/budgets";
import { budgetKeys } from "../../src/budgets/keys";
import { RULES_LOAD_SCRIPT } from "../../src/budgets/scripts";
import { randomToken } from "../../src/lib/ids";
import { runScript } from "../../src/lib/redis";
import { type Fixture, fixture } from "./budgets-fixture";

export interface GrantSpec {
  id: string;
  amountNano: bigint;
  priority?: number;
  expiresAtMs?: number | null;
  effectiveAtMs?: number;
  createdAtMs?: number;
}

export interface WalletFixture extends Fixture {
  tenant: string;
  /** An admit input for the tenant's wallet with this rated worst case. */
  walletInput(worstNano: bigint, over?: Partial<AdmitInput>): AdmitInput;
}

export async function walletFixture(
  redis: Redis,
  grants: GrantSpec[],
  opts: { now: number; thresholds?: bigint[]; topUp?: string; debtNano?: bigint },
): Promise<WalletFixture> {
  const f = await fixture(redis, [], { now: opts.now });
  const tenant = `t_${randomToken(6)}`;
  await runScript(redis, RULES_LOAD_SCRIPT, [billingKeys.walletIndex(f.accountId)], [String(opts.now), tenant, "1"]);
  const args = [
    budgetKeys.prefix(f.accountId),
    tenant,
    String(opts.now),
    String(opts.now),
    (opts.debtNano ?? 0n).toString(),
    "0",
    (opts.thresholds ?? []).join(","),
    opts.topUp ?? "",
  ];
  grants.forEach((g, i) => {
    args.push(
      grantField({
        id: g.id,
        priority: g.priority ?? 10,
        expiresAtMs: g.expiresAtMs ?? null,
        createdAtMs: g.createdAtMs ?? opts.now - 1000 + i,
        effectiveAtMs: g.effectiveAtMs ?? opts.now - 1000,
      }),
      g.amountNano.toString(),
    );
  });
  await runScript(redis, WALLET_LOAD_SCRIPT, [], args);
  return {
    ...f,
    tenant,
    walletInput: (worstNano, over = {}) =>
      f.input({
        tenant,
        worstCaseNano: 0n,
        now: opts.now,
        wallet: { tenant, ratedWorstNano: worstNano, unrated: false },
        ...over,
      }),
  };
}

/** admit, then (if allowed) settle with `billedNano` as the actual cost (at-cost billing). */
export async function walletCall(redis: Redis, input: AdmitInput, billedNano: bigint, now = input.now) {
  const requestId = `req_${randomToken(10)}`;
  const a = await admit(redis, input);
  if (a.kind !== "allowed") return { requestId, admitted: a, settled: null };
  const s = await settle(redis, {
    reservation: a.reservation,
    requestId,
    actualCostNano: billedNano,
    actualTokens: 0,
    now,
  });
  return { requestId, admitted: a, settled: s };
}
