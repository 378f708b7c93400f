/**
 * What the APIs show: exact spent and reserved of each rule in its current period, read from the
 * counters the scripts keep (expired reservations swept first), in one script call.
 */
import { runScript, type ScriptRedis } from "../lib/redis";
import { budgetKeys } from "./keys";
import { type PeriodWindow, periodWindow } from "./periods";
import { named } from "./replies";
import type { BudgetRule } from "./rules";
import { STATUS_SCRIPT } from "./scripts";

export interface MemberStatus {
  /** The scope id the counter belongs to (a tenant, a feature, …). */
  value: string;
  spentNano: bigint;
  reservedNano: bigint;
}

export interface RuleStatus {
  window: PeriodWindow;
  /** For a `*` rule: the sum over every value (or the one asked for). */
  spentNano: bigint;
  reservedNano: bigint;
  /** `*` rules only: one counter per value seen this period, most spent first. */
  members?: MemberStatus[];
}

function pairs(flat: string[] | undefined): Map<string, bigint> {
  const m = new Map<string, bigint>();
  for (let i = 0; i + 1 < (flat?.length ?? 0); i += 2) m.set(String(flat![i]), BigInt(flat![i + 1]!));
  return m;
}

/**
 * `only`: for `*` rules, the one value to read (GET /v1/budgets with ?tenant=…); otherwise every
 * value's counter is listed.
 */
export async function budgetStatus(
  redis: ScriptRedis,
  accountId: string,
  rules: BudgetRule[],
  now: number,
  only: Record<string, string> = {},
): Promise<Map<string, RuleStatus>> {
  const out = new Map<string, RuleStatus>();
  if (rules.length === 0) return out;
  const args: string[] = [String(now), budgetKeys.prefix(accountId), String(rules.length)];
  const windows = rules.map((r) => periodWindow(r.period, now));
  rules.forEach((r, i) => {
    args.push(r.id, windows[i]!.key, r.scopeId === "*" ? (only[r.id] ?? "*") : "_");
  });
  const reply = await runScript<unknown[]>(redis, STATUS_SCRIPT, [], args);
  rules.forEach((r, i) => {
    const counters = named(reply[i]);
    const spent = pairs(counters.spent as string[]);
    const reserved = pairs(counters.reserved as string[]);
    if (r.scopeId !== "*") {
      out.set(r.id, { window: windows[i]!, spentNano: spent.get("_") ?? 0n, reservedNano: reserved.get("_") ?? 0n });
      return;
    }
    const members: MemberStatus[] = [...new Set([...spent.keys(), ...reserved.keys()])]
      .map((value) => ({ value, spentNano: spent.get(value) ?? 0n, reservedNano: reserved.get(value) ?? 0n }))
      .sort((a, b) =>
        a.spentNano === b.spentNano ? a.value.localeCompare(b.value) : a.spentNano > b.spentNano ? -1 : 1,
      );
    out.set(r.id, {
      window: windows[i]!,
      spentNano: members.reduce((s, m) => s + m.spentNano, 0n),
      reservedNano: members.reduce((s, m) => s + m.reservedNano, 0n),
      members,
    });
  });
  return out;
}
