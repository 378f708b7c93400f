/**
 * Reads the price data bundled inside the installed @pydantic/genai-prices package (no network).
 *
 * The package exports no accessor for its whole data set (only `findProvider` for one provider), so
 * we take the `const E = [...]` array literal out of dist/index.js, evaluate it, and then check every
 * provider against what the package's own `findProvider` returns, so a change in the bundle layout
 * fails loudly instead of producing a wrong catalog.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { findProvider } from "@pydantic/genai-prices";

export interface GenaiTier {
  start: number;
  price: number;
}
export type GenaiPriceValue = number | { base: number; tiers: GenaiTier[] };
export type GenaiPrices = Record<string, GenaiPriceValue | undefined>;
export interface GenaiConstraint {
  type?: "start_date" | "time_of_date";
  start_date?: string;
  start_time?: string;
  end_time?: string;
}
export interface GenaiModel {
  id: string;
  name?: string;
  match: unknown;
  context_window?: number;
  deprecated?: boolean;
  prices: GenaiPrices | { constraint?: GenaiConstraint; prices: GenaiPrices }[];
}
export interface GenaiProvider {
  id: string;
  name: string;
  pricing_urls?: string[];
  fallback_model_providers?: string[];
  models: GenaiModel[];
}

const require = createRequire(import.meta.url);

export function genaiPackageDir(): string {
  // The package's exports map has no "./package.json"; resolve the CJS entry and walk up.
  return dirname(dirname(require.resolve("@pydantic/genai-prices")));
}

export function genaiVersion(): string {
  return JSON.parse(readFileSync(join(genaiPackageDir(), "package.json"), "utf8")).version;
}

export function loadGenaiProviders(): GenaiProvider[] {
  const src = readFileSync(join(genaiPackageDir(), "dist", "index.js"), "utf8");
  const head = "const E = [";
  const tail = "], J = {";
  const start = src.indexOf(head);
  const end = src.indexOf(tail);
  if (start !== 0 || end < 0) {
    throw new Error("genai-prices dist/index.js layout changed: cannot find the bundled provider array");
  }
  const literal = src.slice(start + head.length - 1, end + 1);
  const providers = new Function(`"use strict"; return ${literal};`)() as GenaiProvider[];
  if (!Array.isArray(providers) || providers.length === 0) throw new Error("genai-prices: empty provider data");
  for (const p of providers) {
    const viaApi = findProvider({ providerId: p.id });
    if (!viaApi || JSON.stringify(viaApi) !== JSON.stringify(p)) {
      throw new Error(`genai-prices: extracted data for provider ${p.id} differs from findProvider()`);
    }
  }
  return providers;
}
