/** A budget rule and its current period's counters, as the APIs show them (money as USD strings). */
import { z } from "@hono/zod-openapi";
import type { budgetRules } from "../../schema/index";
import { nanoToUsd } from "../lib/money";
import { PERIODS } from "./periods";
import { type BudgetRule, MODES, SCOPE_TYPES } from "./rules";
import type { RuleStatus } from "./status";

const Money = z.string().openapi({ example: "12.50" });

export const BudgetMember = z
  .object({
    id: z.string().openapi({ description: "The scope id this counter belongs to (a tenant, a feature, …)" }),
    spentUsd: Money,
    reservedUsd: Money,
    remainingUsd: Money,
  })
  .openapi("BudgetMember");

export const BudgetJson = z
  .object({
    id: z.string(),
    scope: z.object({
      type: z.enum(SCOPE_TYPES),
      id: z.string().optional().openapi({ description: 'Absent for "account"; "*" = each one separately' }),
    }),
    period: z.enum(PERIODS),
    capUsd: Money,
    mode: z.enum(MODES),
    alertAt: z.array(z.number().int()),
    spentUsd: Money.openapi({ description: "This period; for a `*` rule the sum over every value" }),
    reservedUsd: Money.openapi({ description: "Held by calls in flight (their worst case)" }),
    remainingUsd: Money.openapi({
      description:
        "cap − spent − reserved, at least 0; for a `*` rule the tightest value's (the cap when none spent yet)",
    }),
    periodKey: z.string().openapi({ example: "2026-11" }),
    periodStart: z.string().nullable(),
    periodEnd: z.string().nullable(),
    members: z
      .array(BudgetMember)
      .optional()
      .openapi({ description: "`*` rules: one counter per value seen this period, most spent first (at most 100)" }),
    membersCount: z.number().int().optional(),
    createdAt: z.string().optional(),
    updatedAt: z.string().optional(),
  })
  .openapi("Budget");
export type BudgetJsonT = z.infer<typeof BudgetJson>;

const room = (cap: bigint, spent: bigint, reserved: bigint) => {
  const left = cap - spent - reserved;
  return left > 0n ? left : 0n;
};

export const MEMBERS_SHOWN = 100;

export function budgetToJson(
  rule: BudgetRule,
  status: RuleStatus | undefined,
  row?: Pick<typeof budgetRules.$inferSelect, "createdAt" | "updatedAt">,
): BudgetJsonT {
  const spent = status?.spentNano ?? 0n;
  const reserved = status?.reservedNano ?? 0n;
  let remaining = room(rule.capNano, spent, reserved);
  let members: z.infer<typeof BudgetMember>[] | undefined;
  if (rule.scopeId === "*") {
    const all = status?.members ?? [];
    remaining = all.reduce((min, m) => {
      const r = room(rule.capNano, m.spentNano, m.reservedNano);
      // biome-ignore lint/complexity/useMathMinMax: bigint, which Math.min does not take
      return r < min ? r : min;
    }, rule.capNano);
    members = all.slice(0, MEMBERS_SHOWN).map((m) => ({
      id: m.value,
      spentUsd: nanoToUsd(m.spentNano),
      reservedUsd: nanoToUsd(m.reservedNano),
      remainingUsd: nanoToUsd(room(rule.capNano, m.spentNano, m.reservedNano)),
    }));
  }
  const w = status?.window;
  return {
    id: rule.id,
    scope: rule.scopeType === "account" ? { type: "account" } : { type: rule.scopeType, id: rule.scopeId ?? undefined },
    period: rule.period,
    capUsd: nanoToUsd(rule.capNano),
    mode: rule.mode,
    alertAt: rule.alertAt,
    spentUsd: nanoToUsd(spent),
    reservedUsd: nanoToUsd(reserved),
    remainingUsd: nanoToUsd(remaining),
    periodKey: w?.key ?? "",
    periodStart: w?.startMs != null ? new Date(w.startMs).toISOString() : null,
    periodEnd: w?.endMs != null ? new Date(w.endMs).toISOString() : null,
    ...(members ? { members, membersCount: status?.members?.length ?? 0 } : {}),
    ...(row ? { createdAt: row.createdAt.toISOString(), updatedAt: row.updatedAt.toISOString() } : {}),
  };
}
