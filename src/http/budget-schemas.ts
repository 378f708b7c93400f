/**
 * Budgets at the API edge, for every API that shows or takes them: a rule with its current period's
 * counters as JSON (money as USD strings), and the fields of a rule as input. The rules themselves
 * are src/budgets/ (manage.ts: create, change, delete, read with counters).
 */
import { z } from "@hono/zod-openapi";
import type { budgetRules } from "../../schema/index";
import {
  type BudgetRule,
  DEFAULT_ALERT_AT,
  MAX_CAP_NANO,
  MODES,
  PERIODS,
  type RuleStatus,
  type RuleWithStatus,
  SCOPE_TYPES,
} from "../budgets";
import { nanoToUsd, usdToNano } from "../lib/money";

// ---- input -----------------------------------------------------------------------------------------

/** A scope id (a tenant, a feature, …) as the x-tollgate-* headers carry it. */
export const ScopeId = z
  .string()
  .trim()
  .min(1)
  .max(256)
  .regex(/^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/, "printable ASCII, as sent in x-tollgate-* headers");

/** A tenant named in a path or a form (share links). */
export const TenantId = ScopeId;

const Scope = z
  .object({ type: z.enum(SCOPE_TYPES), id: ScopeId.nullish() })
  .superRefine((s, ctx) => {
    if (s.type === "account" && s.id != null) {
      ctx.addIssue({ code: "custom", path: ["id"], message: 'an "account" scope has no id' });
    }
    if (s.type !== "account" && s.id == null) {
      ctx.addIssue({
        code: "custom",
        path: ["id"],
        message: `a "${s.type}" scope needs an id, or "*" for each one separately`,
      });
    }
  })
  .openapi({ example: { type: "tenant", id: "*" } });

/** Decimal USD in, integer nano-USD out. */
const CapUsd = z
  .union([z.string(), z.number()])
  .transform((v, ctx) => {
    try {
      const nano = usdToNano(String(v));
      if (nano <= 0n) ctx.addIssue({ code: "custom", message: "must be more than 0" });
      else if (nano > MAX_CAP_NANO) ctx.addIssue({ code: "custom", message: "must be at most 9000000 USD" });
      return nano;
    } catch {
      ctx.addIssue({ code: "custom", message: 'a USD amount as a decimal string, e.g. "12.50"' });
      return z.NEVER;
    }
  })
  .openapi({ type: "string", example: "5.00" });

const AlertAt = z
  .array(z.number().int().min(1).max(1000))
  .max(10)
  .refine((a) => new Set(a).size === a.length, "thresholds must be distinct")
  .openapi({ example: DEFAULT_ALERT_AT });

const ThrottleAt = z.number().int().min(1).max(100).nullable().openapi({
  example: 90,
  description:
    "Percent of the cap past which this rule's calls are admitted one at a time (no two holds at once); null: never",
});

export const BudgetCreateBody = z.object({
  scope: Scope,
  period: z.enum(PERIODS),
  capUsd: CapUsd,
  mode: z.enum(MODES).default("hard"),
  alertAt: AlertAt.default(DEFAULT_ALERT_AT),
  throttleAt: ThrottleAt.optional(),
});
export const BudgetPatchBody = z
  .object({
    scope: Scope.optional(),
    period: z.enum(PERIODS).optional(),
    capUsd: CapUsd.optional(),
    mode: z.enum(MODES).optional(),
    alertAt: AlertAt.optional(),
    throttleAt: ThrottleAt.optional(),
  })
  .refine((b) => Object.values(b).some((v) => v !== undefined), "nothing to change");

// ---- output ----------------------------------------------------------------------------------------

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
    throttleAt: z.number().int().nullable(),
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
    throttleAt: rule.throttleAt ?? null,
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

/** A rule read by src/budgets/manage.ts, as JSON. */
export const ruleJson = (r: RuleWithStatus): BudgetJsonT => budgetToJson(r.rule, r.status, r.row);
