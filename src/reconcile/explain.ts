/**
 * Likely causes of a flagged line, from the evidence a report has:
 *
 *   missing_day                the provider billed a day on which Tollgate has no record of it at all
 *   missing_records            the provider counted more tokens than Tollgate recorded
 *   extra_records              Tollgate recorded tokens the provider did not bill to this organization
 *   unpriced_model             calls Tollgate could not price (recorded at $0)
 *   price_change               the tokens agree, and one side's rate changed on a day the other's did not
 *   bucket_priced_differently  the tokens agree, one bucket's rate differs all along, the model's others agree
 *   model_priced_differently   the tokens agree, every bucket of the model differs by the same ratio
 *   unexplained                none of the above
 *
 * The order is the order of evidence: a day with no records explains everything on it; unpriced
 * calls explain a cost gap; a token gap explains a cost gap; only when the tokens agree are the
 * rates compared, day by day, to tell a price change from a standing difference.
 */
import { nanoToUsd } from "../lib/money";
import { type CauseCode, impliedRate, type Line, type Thresholds } from "./compare";
import { ANY_MODEL } from "./types";

interface Context {
  provider: string;
  accountId: string;
  daysWithRecords: Set<string>;
  thresholds: Thresholds;
}

/** Two rates are the same within this share (rounding of a day's sum, cents in a report). */
const RATE_TOLERANCE = 0.005;
const same = (a: number, b: number) => Math.abs(a - b) <= RATE_TOLERANCE * Math.max(Math.abs(a), Math.abs(b), 1e-9);

const usd = (nano: bigint | null) => `$${nanoToUsd(nano ?? 0n)}`;
const perMTok = (rate: number, bucket: string) =>
  `$${nanoToUsd(BigInt(Math.round(rate)))} per ${bucket === "web_search" ? "1,000 searches" : "Mtok"}`;
const tokensOf = (bucket: string) => (bucket === "web_search" ? "web searches" : `${bucket} tokens`);

function add(l: Line, code: CauseCode, message: string): void {
  if (!l.causes.some((c) => c.code === code)) l.causes.push({ code, message });
}

const ourRateOf = (l: Line) => impliedRate(l.ourCostNano, l.ourTokens, l.bucket);
const theirRateOf = (l: Line) => impliedRate(l.theirCostNano, l.theirTokens, l.bucket);

/** The one day a series of rates steps from one value to another, if it does exactly once. */
function changePoint(days: { day: string; rate: number }[]): { day: string; before: number; after: number } | null {
  if (days.length < 2) return null;
  const i = days.findIndex((d) => !same(d.rate, days[0]!.rate));
  if (i < 0) return null;
  if (!days.slice(i).every((d) => same(d.rate, days[i]!.rate))) return null;
  return { day: days[i]!.day, before: days[0]!.rate, after: days[i]!.rate };
}

export function explain(lines: Line[], ctx: Context): void {
  const p = ctx.provider;
  for (const l of lines) {
    if (!l.flagged) continue;
    const theirsSomething = (l.theirCostNano ?? 0n) > 0n || (l.theirTokens ?? 0) > 0;
    if (!ctx.daysWithRecords.has(l.day) && theirsSomething) {
      add(
        l,
        "missing_day",
        `Tollgate has no ${p} records on ${l.day}, while ${p} billed ${l.theirCostNano !== null ? usd(l.theirCostNano) : `${l.theirTokens} ${tokensOf(l.bucket)}`}: a gateway outage, records that never reached Postgres, or calls that bypassed the gateway that day.`,
      );
      continue;
    }
    const short = l.theirCostNano === null || (l.ourCostNano ?? 0n) < l.theirCostNano;
    if (l.ourUnpriced > 0 && short && l.model !== ANY_MODEL) {
      add(
        l,
        "unpriced_model",
        `${l.ourUnpriced} calls to ${l.model} on ${l.day} had no price (not in the catalog, no account price) and were recorded at $0; set one with PUT /admin/v1/accounts/${ctx.accountId}/prices/${p}/${encodeURIComponent(l.model)}.`,
      );
    }
    if (l.tokensFlagged && l.ourTokens !== null && l.theirTokens !== null) {
      const gap = Math.abs(l.theirTokens - l.ourTokens);
      if (l.theirTokens > l.ourTokens) {
        add(
          l,
          "missing_records",
          `${p} counted ${gap} more ${tokensOf(l.bucket)} of ${l.model} on ${l.day} than Tollgate recorded (${l.theirTokens} vs ${l.ourTokens}): calls that were not recorded, or were made with the same organization's key around the gateway.`,
        );
      } else {
        add(
          l,
          "extra_records",
          `Tollgate recorded ${gap} more ${tokensOf(l.bucket)} of ${l.model} on ${l.day} than ${p} billed (${l.ourTokens} vs ${l.theirTokens}): calls on another organization's key (bring-your-own-key), or usage ${p} did not bill.`,
        );
      }
    }
  }

  // Rates, per model and bucket, over the days whose tokens agree and carry costs on both sides.
  const series = new Map<string, Line[]>();
  for (const l of lines) {
    if (l.bucket === "total" || l.model === ANY_MODEL) continue;
    const k = `${l.model}|${l.bucket}`;
    series.set(k, [...(series.get(k) ?? []), l]);
  }
  const pending: Line[] = [];
  const ratioOf = new Map<Line, number>();
  for (const ls of series.values()) {
    const comparable = ls
      .filter(
        (l) =>
          !l.tokensFlagged &&
          l.ourUnpriced === 0 &&
          (l.ourTokens ?? 0) > 0 &&
          theirRateOf(l) !== null &&
          ourRateOf(l) !== null,
      )
      .sort((a, b) => a.day.localeCompare(b.day));
    for (const l of comparable) ratioOf.set(l, theirRateOf(l)! / ourRateOf(l)!);
    const flagged = comparable.filter((l) => l.flagged && l.causes.length === 0);
    if (flagged.length === 0) continue;
    const theirs = changePoint(comparable.map((l) => ({ day: l.day, rate: theirRateOf(l)! })));
    const mine = changePoint(comparable.map((l) => ({ day: l.day, rate: ourRateOf(l)! })));
    const oursConstant = comparable.every((l) => same(ourRateOf(l)!, ourRateOf(comparable[0]!)!));
    const theirsConstant = comparable.every((l) => same(theirRateOf(l)!, theirRateOf(comparable[0]!)!));
    const { model, bucket } = flagged[0]!;
    if (theirs && oursConstant) {
      for (const l of flagged.filter((x) => x.day >= theirs.day)) {
        add(
          l,
          "price_change",
          `${p}'s ${bucket} price for ${model} changed on ${theirs.day} from ${perMTok(theirs.before, bucket)} to ${perMTok(theirs.after, bucket)}; Tollgate still applies ${perMTok(ourRateOf(l)!, bucket)}. Update the catalog (npm run pricing:update) or set the account's price from ${theirs.day} (PUT /admin/v1/accounts/${ctx.accountId}/prices/${p}/${encodeURIComponent(model)} with effectiveFrom).`,
        );
      }
    } else if (mine && theirsConstant) {
      for (const l of flagged.filter((x) => x.day >= mine.day)) {
        add(
          l,
          "price_change",
          `Tollgate's ${bucket} price for ${model} changed on ${mine.day} from ${perMTok(mine.before, bucket)} to ${perMTok(mine.after, bucket)}; ${p} still bills ${perMTok(theirRateOf(l)!, bucket)}.`,
        );
      }
    } else if (oursConstant && theirsConstant) {
      pending.push(...flagged);
    }
  }
  // A standing difference: one bucket of the model, or all of them alike?
  for (const l of pending) {
    const siblings = [...ratioOf.entries()].filter(([s]) => s.day === l.day && s.model === l.model && s !== l);
    const r = ratioOf.get(l)!;
    const allAlike = siblings.length > 0 && siblings.every(([, x]) => same(x, r));
    const message = `${p} bills ${l.model}'s ${tokensOf(l.bucket)} at ${perMTok(theirRateOf(l)!, l.bucket)}, Tollgate prices them at ${perMTok(ourRateOf(l)!, l.bucket)} (×${(Math.round(r * 1000) / 1000).toString()})`;
    if (allAlike) {
      add(
        l,
        "model_priced_differently",
        `${message}, as every bucket of the model: a negotiated discount, a batch or priority tier, or a different list price. Set the account's price or discount (PUT /admin/v1/accounts/${ctx.accountId}/prices/${p}/${encodeURIComponent(l.model)}).`,
      );
    } else {
      add(
        l,
        "bucket_priced_differently",
        `${message}, while its other buckets agree: this bucket is billed differently from how Tollgate prices it (e.g. cache writes at a multiple of the input rate). Set that bucket's rate for the account (PUT /admin/v1/accounts/${ctx.accountId}/prices/${p}/${encodeURIComponent(l.model)}).`,
      );
    }
  }

  // A model's total carries what its buckets found; anything left flagged is unexplained.
  for (const l of lines) {
    if (l.bucket === "total" && l.model !== ANY_MODEL) {
      for (const b of lines) {
        if (b.day === l.day && b.model === l.model && b.bucket !== "total")
          for (const c of b.causes) add(l, c.code, c.message);
      }
    }
    if (l.flagged && l.causes.length === 0) {
      add(
        l,
        "unexplained",
        l.ourTokens === null || l.theirTokens === null
          ? `Not explained by missing days or unpriced calls; with ${p}'s usage report (token counts) uploaded too, the report can tell missing calls from price differences.`
          : `Not explained by missing days, unpriced calls, token counts or rates; see the calls of ${l.model} on ${l.day} (GET /admin/v1/accounts/${ctx.accountId}/usage?from=${l.day}&groupBy=model).`,
      );
    }
  }
}
