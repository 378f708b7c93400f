/**
 * Model name → catalog model, per provider (the same model can cost differently on groq and on
 * together, so the provider always comes first). The steps follow genai-prices' calcPrice:
 *
 * 1. the name is lower-cased and trimmed (and a Gemini-native `models/` prefix dropped);
 * 2. the provider's models are tried in catalog order, first match wins;
 * 3. then the provider's fallback providers (genai-prices `fallback_model_providers`, e.g. azure →
 *    openai), one level deep;
 * 4. then the same with a dashed date snapshot normalized (`-20250514` → `-2025-05-14`);
 * 5. a `vendor/` prefix: if the vendor IS the provider (`openai/gpt-4o` sent to openai), the rest is
 *    tried on the provider; for a pass-through reseller (openrouter) with no entry of its own, the
 *    rest is tried on the vendor's provider (`openai/gpt-4o-mini` → openai `gpt-4o-mini`), which is
 *    what OpenRouter charges for pass-through models.
 */
import { matches } from "./match";
import type { Catalog, CatalogModel } from "./types";

export interface ResolvedModel {
  /** Catalog provider whose entry is used (may differ from the one called: fallback or vendor prefix). */
  provider: string;
  model: CatalogModel;
  /** The normalized name that matched. */
  name: string;
}

/** OpenRouter-style vendor prefixes → our provider ids. */
export const VENDOR_PREFIX: Readonly<Record<string, string>> = {
  openai: "openai",
  anthropic: "anthropic",
  google: "gemini",
  gemini: "gemini",
  "x-ai": "xai",
  xai: "xai",
  deepseek: "deepseek",
  mistralai: "mistral",
  mistral: "mistral",
  cohere: "cohere",
  perplexity: "perplexity",
  moonshotai: "moonshotai",
  "z-ai": "zhipuai",
  minimax: "minimax",
  groq: "groq",
  together: "together",
  fireworks: "fireworks",
};

/** Providers that resell other vendors' models at the vendor's price when they have no entry of their own. */
const PASS_THROUGH = new Set(["openrouter"]);

export function normalizeModelName(name: string): string {
  let n = name.toLowerCase().trim();
  if (n.startsWith("models/")) n = n.slice("models/".length);
  return n;
}

const DATE_SUFFIX = /(-)(20\d{2})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(?=-|:|$)/g;

/** genai-prices: `-YYYYMMDD` → `-YYYY-MM-DD` when it is a real calendar date. */
export function normalizeDateSnapshot(name: string): string {
  return name.replace(DATE_SUFFIX, (whole, dash: string, y: string, m: string, d: string) => {
    const date = new Date(Date.UTC(Number(y), Number(m) - 1, Number(d)));
    return date.getUTCFullYear() !== Number(y) ||
      date.getUTCMonth() !== Number(m) - 1 ||
      date.getUTCDate() !== Number(d)
      ? whole
      : `${dash}${y}-${m}-${d}`;
  });
}

function findInProvider(cat: Catalog, provider: string, name: string, withFallback: boolean): ResolvedModel | null {
  const p = cat.providers[provider];
  if (!p) return null;
  for (const model of p.models) if (matches(model.match, name)) return { provider, model, name };
  if (withFallback && p.fallback) {
    for (const f of p.fallback) {
      const r = findInProvider(cat, f, name, false);
      if (r) return r;
    }
  }
  return null;
}

function resolveOnProvider(cat: Catalog, provider: string, name: string): ResolvedModel | null {
  const direct = findInProvider(cat, provider, name, true);
  if (direct) return direct;
  const dated = normalizeDateSnapshot(name);
  return dated !== name ? findInProvider(cat, provider, dated, true) : null;
}

export function resolveUncached(cat: Catalog, provider: string, modelName: string): ResolvedModel | null {
  const p = provider.toLowerCase().trim();
  if (!cat.providers[p]) return null;
  const name = normalizeModelName(modelName);
  if (!name) return null;
  const own = resolveOnProvider(cat, p, name);
  if (own) return own;
  const slash = name.indexOf("/");
  if (slash > 0 && slash < name.length - 1) {
    const vendor = VENDOR_PREFIX[name.slice(0, slash)];
    const rest = name.slice(slash + 1);
    if (vendor === p) return resolveOnProvider(cat, p, rest);
    if (vendor && PASS_THROUGH.has(p) && cat.providers[vendor]) return resolveOnProvider(cat, vendor, rest);
  }
  return null;
}

const CACHE_MAX = 2048;
const caches = new WeakMap<Catalog, Map<string, ResolvedModel | null>>();

/** resolveUncached with a per-isolate memo (the catalog is immutable, so entries never go stale). */
export function resolveModel(cat: Catalog, provider: string, modelName: string): ResolvedModel | null {
  let cache = caches.get(cat);
  if (!cache) {
    cache = new Map();
    caches.set(cat, cache);
  }
  const key = `${provider}\u0000${modelName}`;
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  const r = resolveUncached(cat, provider, modelName);
  if (cache.size >= CACHE_MAX) cache.clear();
  cache.set(key, r);
  return r;
}
