/**
 * The conformance suite: every fixture under test/fixtures/<format>/ (a recorded-style body, .sse
 * or .json, with <name>.expected.json beside it, worked out by hand) is metered whole, byte by
 * byte, cut at every single position, and cut at many random position sets (fast-check) — and must
 * always give the same usage. OpenAI-format streams also go through the usage-chunk stripper.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BUILTIN_PROVIDERS, type WireFormat } from "../providers";
import type { Usage } from "../usage";
import { createStreamMeter, createUsageChunkStripperCore, usageFromJson } from "./index";
import type { StreamMeterResult } from "./types";

const ROOT = resolve(__dirname, "../../test/fixtures");

interface Expected {
  provider: string;
  path: string;
  note: string;
  usage: Usage | null;
  model: string | null;
  complete: boolean;
  serviceTier?: string;
  strippedEvents?: number;
  outputText?: string;
  cacheWriteTtl?: "5m" | "1h";
  estimatedUsageInput?: Partial<Usage>;
}

interface Fixture {
  format: WireFormat;
  name: string;
  kind: "sse" | "json";
  bytes: Uint8Array;
  expected: Expected;
}

function loadFixtures(): Fixture[] {
  const out: Fixture[] = [];
  for (const format of ["openai", "anthropic"] as const) {
    const dir = join(ROOT, format);
    const files = readdirSync(dir);
    for (const f of files.filter((x) => x.endsWith(".expected.json")).sort()) {
      const name = f.slice(0, -".expected.json".length);
      const kind = files.includes(`${name}.sse`) ? "sse" : "json";
      out.push({
        format,
        name,
        kind,
        bytes: new Uint8Array(readFileSync(join(dir, `${name}.${kind}`))),
        expected: JSON.parse(readFileSync(join(dir, f), "utf8")) as Expected,
      });
    }
  }
  return out;
}

const fixtures = loadFixtures();

function meter(fx: Fixture, chunks: Uint8Array[]): StreamMeterResult {
  const m = createStreamMeter({
    format: fx.format,
    path: fx.expected.path,
    quirks: BUILTIN_PROVIDERS[fx.expected.provider]!.quirks,
    streamed: fx.kind === "sse",
    estimatedInputTokens: 1234,
    ...(fx.expected.cacheWriteTtl ? { cacheWriteTtl: fx.expected.cacheWriteTtl } : {}),
  });
  for (const c of chunks) m.push(c);
  return m.finish();
}

function cutAt(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => Math.max(0, Math.min(bytes.length, c))))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of points) {
    if (p > prev) out.push(bytes.subarray(prev, p));
    prev = p;
  }
  if (prev < bytes.length) out.push(bytes.subarray(prev));
  return out;
}

/** The positions that fall inside a multi-byte UTF-8 character (continuation bytes). */
function insideMultibyte(bytes: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) if ((bytes[i]! & 0xc0) === 0x80) out.push(i);
  return out;
}

function same(r: StreamMeterResult, fx: Fixture): void {
  const e = fx.expected;
  expect(r.usage).toEqual(e.usage);
  expect(r.model).toBe(e.model);
  if (fx.kind === "sse") expect(r.complete).toBe(e.complete);
  expect(r.serviceTier).toBe(e.serviceTier);
  if (e.outputText !== undefined) expect(r.outputText).toBe(e.outputText);
  if (e.usage === null) {
    expect(r.estimatedUsage).not.toBeNull();
    expect(r.estimatedUsage!.outputTokens).toBeGreaterThan(0);
    if (e.estimatedUsageInput) expect(r.estimatedUsage).toMatchObject(e.estimatedUsageInput);
    else expect(r.estimatedUsage!.inputTokens).toBe(1234);
  } else {
    expect(r.estimatedUsage).toBeNull();
  }
}

describe("fixtures", () => {
  it("has at least 25 fixtures, with non-ASCII text in every stream", () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(25);
    for (const fx of fixtures.filter((f) => f.kind === "sse"))
      expect(insideMultibyte(fx.bytes).length, fx.name).toBeGreaterThan(0);
  });

  describe.each(fixtures.map((f) => [`${f.format}/${f.name}.${f.kind}`, f] as const))("%s", (_label, fx) => {
    it("whole", () => {
      same(meter(fx, [fx.bytes]), fx);
      if (fx.kind === "json") {
        const found = usageFromJson(
          fx.format,
          fx.expected.path,
          JSON.parse(new TextDecoder().decode(fx.bytes)),
          BUILTIN_PROVIDERS[fx.expected.provider]!.quirks,
          fx.expected.cacheWriteTtl ? { cacheWriteTtl: fx.expected.cacheWriteTtl } : {},
        );
        expect(found?.usage ?? null).toEqual(fx.expected.usage);
        expect(found?.model ?? null).toBe(fx.expected.model);
      }
    });

    it("one byte at a time", () => {
      const chunks = Array.from({ length: fx.bytes.length }, (_, i) => fx.bytes.subarray(i, i + 1));
      same(meter(fx, chunks), fx);
    });

    it("cut once at every position", () => {
      for (let i = 1; i < fx.bytes.length; i++) same(meter(fx, cutAt(fx.bytes, [i])), fx);
    });

    it("cut at random position sets, including inside multi-byte characters", () => {
      const inside = insideMultibyte(fx.bytes);
      const anyCut = fc.integer({ min: 0, max: fx.bytes.length });
      const utf8Cut = inside.length > 0 ? fc.constantFrom(...inside) : anyCut;
      fc.assert(
        fc.property(fc.array(fc.oneof(anyCut, utf8Cut), { maxLength: 40 }), (cuts) => {
          same(meter(fx, cutAt(fx.bytes, cuts)), fx);
        }),
        { numRuns: 150 },
      );
    });

    if (fx.kind === "sse" && fx.format === "openai" && fx.expected.strippedEvents !== undefined) {
      it("stripper: output = input minus exactly the usage-only event, under random cuts", () => {
        const input = new TextDecoder().decode(fx.bytes);
        const { text: want, removed } = oracleStrip(input);
        expect(removed).toBe(fx.expected.strippedEvents);
        // Compared as latin1 text (one char per byte, so byte-exact): a deep equality of
        // kilobyte Uint8Arrays 200 times over was most of this test's time.
        const wantBytes = bytesText(new TextEncoder().encode(want));
        expect(bytesText(strip(cutAt(fx.bytes, [])))).toBe(wantBytes);
        const chunks1 = Array.from({ length: fx.bytes.length }, (_, i) => fx.bytes.subarray(i, i + 1));
        expect(bytesText(strip(chunks1))).toBe(wantBytes);
        fc.assert(
          fc.property(fc.array(fc.integer({ min: 0, max: fx.bytes.length }), { maxLength: 40 }), (cuts) => {
            expect(bytesText(strip(cutAt(fx.bytes, cuts)))).toBe(wantBytes);
          }),
          { numRuns: 200 },
        );
      });
    }

    it("stripper: an Anthropic or JSON body passes unchanged", () => {
      if (fx.kind === "sse" && fx.format === "openai") return;
      expect(strip(cutAt(fx.bytes, [7, 100, 333]))).toEqual(fx.bytes);
    });
  });
});

const bytesText = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("latin1");

function strip(chunks: Uint8Array[]): Uint8Array {
  const s = createUsageChunkStripperCore();
  const parts: Uint8Array[] = [];
  for (const c of chunks) parts.push(...s.push(c));
  parts.push(...s.flush());
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A slow, obviously-correct reference: split into events on whole text, drop single-line usage-only ones. */
function oracleStrip(input: string): { text: string; removed: number } {
  const lines = input.match(/[^\n]*\n|[^\n]+$/g) ?? [];
  let out = "";
  let event: string[] = [];
  let removed = 0;
  const close = (blank: string) => {
    const content = event.filter((l) => l.replace(/\r?\n$/, "") !== "");
    let drop = false;
    if (content.length === 1 && event.length === 1 && blank !== "") {
      const m = /^data: ?(.*?)\r?\n$/.exec(content[0]!);
      if (m) {
        try {
          const ev = JSON.parse(m[1]!);
          drop =
            Array.isArray(ev.choices) && ev.choices.length === 0 && typeof ev.usage === "object" && ev.usage !== null;
        } catch {}
      }
    }
    if (drop) removed++;
    else out += event.join("") + blank;
    event = [];
  };
  for (const l of lines) {
    if (l === "\n" || l === "\r\n") close(l);
    else event.push(l);
  }
  out += event.join("");
  return { text: out, removed };
}
