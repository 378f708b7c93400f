/**
 * Billing at the API edge: money in and out as decimal USD strings, a tenant id as the attribution
 * headers carry it, and plans as JSON (src/billing/plan.ts holds them in nano-USD integers).
 */
import { z } from "@hono/zod-openapi";
import { METERS, PLAN_KINDS, type Plan, type PlanDefinition, type Tier } from "../billing/plan";
import { MAX_CAP_NANO } from "../budgets";
import { nanoToUsd, usdToNano } from "../lib/money";
import { TOKEN_BUCKETS, type TokenBucket } from "../usage";

/** Decimal USD in (at most 9 decimals, ≥ 0, below 2^53 nano), integer nano-USD out. */
export const UsdIn = (opts: { positive?: boolean; example?: string } = {}) =>
  z
    .union([z.string(), z.number()])
    .transform((v, ctx) => {
      try {
        const nano = usdToNano(String(v));
        if (nano < 0n || (opts.positive && nano === 0n)) {
          ctx.addIssue({ code: "custom", message: opts.positive ? "must be more than 0" : "must not be negative" });
        } else if (nano > MAX_CAP_NANO) ctx.addIssue({ code: "custom", message: "must be at most 9000000 USD" });
        return nano;
      } catch {
        ctx.addIssue({ code: "custom", message: 'a USD amount as a decimal string, e.g. "12.50"' });
        return z.NEVER;
      }
    })
    .openapi({ type: "string", example: opts.example ?? "10.00" });

export const Money = z.string().openapi({ example: "12.50" });

export const TenantParam = z.object({
  account: z
    .string()
    .min(1)
    .openapi({ param: { name: "account", in: "path" }, example: "acc_3xAmpLe" }),
  tenant: z
    .string()
    .min(1)
    .max(256)
    .regex(/^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/, "printable ASCII, as sent in x-tollgate-tenant")
    .openapi({ param: { name: "tenant", in: "path" }, example: "acme" }),
});

// ---- plans -----------------------------------------------------------------------------------------

/** USD per million tokens per bucket: the names of the usage buckets (src/usage.ts) + "PerMTokUsd". */
const RATE_FIELDS = Object.fromEntries(TOKEN_BUCKETS.map((b) => [b.replace(/Tokens$/, "PerMTokUsd"), b])) as Record<
  string,
  TokenBucket
>;

const TierInput = z.object({
  upTo: z.number().int().positive().nullable().openapi({
    description:
      "Units of the meter below which the tier ends (exclusive, cumulative); null: no end. For the cost meter use upToUsd",
  }),
  upToUsd: z.string().nullable().optional().openapi({ description: "The cost meter's tier end, in USD of our cost" }),
  perMillionUsd: z
    .string()
    .optional()
    .openapi({ description: "USD per million units (tokens, requests)", example: "2.00" }),
  multiplier: z.string().optional().openapi({ description: "The cost meter: billed = cost × this", example: "1.20" }),
  flatUsd: z.string().optional().openapi({ description: "Charged once when the period enters the tier" }),
});

export const PlanBody = z
  .object({
    name: z.string().trim().min(1).max(200),
    kind: z.enum(PLAN_KINDS),
    markupBp: z
      .number()
      .int()
      .min(0)
      .optional()
      .openapi({ description: "markup: basis points over our cost (2000 = +20 %)" }),
    rates: z
      .object(
        Object.fromEntries(Object.keys(RATE_FIELDS).map((k) => [k, z.string().optional()])) as Record<
          string,
          z.ZodOptional<z.ZodString>
        >,
      )
      .strict()
      .optional()
      .openapi({
        description: "unit: USD per million tokens of each usage bucket",
        example: { inputPerMTokUsd: "3.00", outputPerMTokUsd: "15.00" },
      }),
    meter: z.enum(METERS).optional().openapi({ description: "graduated, package: what is counted" }),
    tiers: z.array(TierInput).optional(),
    packageSize: z.number().int().positive().optional(),
    packagePriceUsd: z.string().optional(),
    freeAllowance: z
      .number()
      .int()
      .min(0)
      .optional()
      .openapi({ description: "graduated, package: free units of the meter each period" }),
    freeAllowanceUsd: z
      .string()
      .optional()
      .openapi({ description: "markup, unit: the first USD of each period's price are free" }),
  })
  .strict()
  .openapi("PlanInput");

type PlanBodyT = z.infer<typeof PlanBody>;

const nano = (usd: string | undefined, field: string, issues: string[]): number => {
  if (usd === undefined) return 0;
  try {
    const n = usdToNano(usd);
    if (n < 0n) throw new RangeError();
    return Number(n);
  } catch {
    issues.push(`${field}: a non-negative USD amount, e.g. "2.50"`);
    return 0;
  }
};
/** "1.20" → 1,200,000 (the cost meter's rate per million nano-USD); at most 6 decimals. */
const multiplier = (v: string | undefined, field: string, issues: string[]): number => {
  const m = /^(\d+)(?:\.(\d{1,6}))?$/.exec(v ?? "");
  if (!m) {
    issues.push(`${field}: a multiplier such as "1.20" (at most 6 decimals)`);
    return 0;
  }
  return Number(m[1]) * 1_000_000 + Number((m[2] ?? "").padEnd(6, "0"));
};

/** The body as a definition, or the problems with it (the 400's issues). */
export function planDefinition(b: PlanBodyT): { definition: PlanDefinition } | { issues: string[] } {
  const issues: string[] = [];
  let d: PlanDefinition;
  switch (b.kind) {
    case "markup":
      d = {
        kind: "markup",
        markupBp: b.markupBp ?? 0,
        freeAllowanceNano: nano(b.freeAllowanceUsd, "freeAllowanceUsd", issues),
      };
      break;
    case "unit": {
      const ratesPerMTokNano: Partial<Record<TokenBucket, number>> = {};
      for (const [field, bucket] of Object.entries(RATE_FIELDS)) {
        const v = b.rates?.[field];
        if (v !== undefined) ratesPerMTokNano[bucket] = nano(v, `rates.${field}`, issues);
      }
      if (!b.rates) issues.push("rates: a unit plan needs its rates");
      d = { kind: "unit", ratesPerMTokNano, freeAllowanceNano: nano(b.freeAllowanceUsd, "freeAllowanceUsd", issues) };
      break;
    }
    case "graduated": {
      const meter = b.meter ?? "tokens";
      const cost = meter === "cost";
      const tiers: Tier[] = (b.tiers ?? []).map((t, i) => ({
        upTo: cost ? (t.upToUsd ? nano(t.upToUsd, `tiers.${i}.upToUsd`, issues) : null) : t.upTo,
        ratePerMillion: cost
          ? multiplier(t.multiplier, `tiers.${i}.multiplier`, issues)
          : nano(t.perMillionUsd ?? "0", `tiers.${i}.perMillionUsd`, issues),
        flatNano: nano(t.flatUsd, `tiers.${i}.flatUsd`, issues),
      }));
      // The free allowance is a first tier at rate 0, carved from the bottom of the first tier.
      const free = b.freeAllowance ?? 0;
      if (free > 0) {
        if (tiers[0] && tiers[0].upTo !== null && tiers[0].upTo <= free)
          issues.push("freeAllowance must end inside the first tier");
        tiers.unshift({ upTo: free, ratePerMillion: 0, flatNano: 0 });
      }
      d = { kind: "graduated", meter, tiers };
      break;
    }
    case "package":
      if (!b.packageSize) issues.push("packageSize: a package plan needs it");
      d = {
        kind: "package",
        meter: b.meter ?? "tokens",
        packageSize: b.packageSize ?? 1,
        packagePriceNano: nano(b.packagePriceUsd ?? "0", "packagePriceUsd", issues),
        allowance: b.freeAllowance ?? 0,
      };
      break;
  }
  return issues.length ? { issues } : { definition: d };
}

const TierJson = z.object({
  upTo: z.number().nullable(),
  upToUsd: z.string().nullable().optional(),
  perMillionUsd: z.string().optional(),
  multiplier: z.string().optional(),
  flatUsd: z.string(),
});

export const PlanJson = z
  .object({
    id: z.string(),
    name: z.string(),
    version: z
      .string()
      .openapi({ description: "Changes with the definition; records carry the version they were rated under" }),
    kind: z.enum(PLAN_KINDS),
    markupBp: z.number().optional(),
    rates: z.record(z.string(), z.string()).optional(),
    meter: z.enum(METERS).optional(),
    tiers: z.array(TierJson).optional(),
    packageSize: z.number().optional(),
    packagePriceUsd: z.string().optional(),
    freeAllowance: z.number().optional(),
    freeAllowanceUsd: z.string().optional(),
    createdAt: z.string().optional(),
    updatedAt: z.string().optional(),
  })
  .openapi("Plan");

const usd = (n: number) => nanoToUsd(BigInt(n));
const mult = (r: number) =>
  `${Math.floor(r / 1_000_000)}.${String(r % 1_000_000)
    .padStart(6, "0")
    .replace(/0{1,4}$/, "")}`;

export function planJson(p: Plan, times?: { createdAt: Date; updatedAt: Date }): z.infer<typeof PlanJson> {
  const d = p.definition;
  const base = {
    id: p.id,
    name: p.name,
    version: p.version,
    kind: d.kind,
    ...(times ? { createdAt: times.createdAt.toISOString(), updatedAt: times.updatedAt.toISOString() } : {}),
  };
  switch (d.kind) {
    case "markup":
      return { ...base, markupBp: d.markupBp, freeAllowanceUsd: usd(d.freeAllowanceNano) };
    case "unit":
      return {
        ...base,
        rates: Object.fromEntries(
          Object.entries(RATE_FIELDS).flatMap(([f, b]) =>
            d.ratesPerMTokNano[b] === undefined ? [] : [[f, usd(d.ratesPerMTokNano[b]!)]],
          ),
        ),
        freeAllowanceUsd: usd(d.freeAllowanceNano),
      };
    case "graduated": {
      const cost = d.meter === "cost";
      return {
        ...base,
        meter: d.meter,
        tiers: d.tiers.map((t) => ({
          upTo: cost ? null : t.upTo,
          ...(cost
            ? { upToUsd: t.upTo === null ? null : usd(t.upTo), multiplier: mult(t.ratePerMillion) }
            : { perMillionUsd: usd(t.ratePerMillion) }),
          flatUsd: usd(t.flatNano),
        })),
      };
    }
    case "package":
      return {
        ...base,
        meter: d.meter,
        packageSize: d.packageSize,
        packagePriceUsd: usd(d.packagePriceNano),
        freeAllowance: d.allowance,
      };
  }
}
