import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { applyClockOffset, CLOCK_OFFSET_BINDING, nowDate, nowMs } from "./clock";

const SRC = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return /\.tsx?$/.test(e.name) && !/\.test\.tsx?$/.test(e.name) ? [p] : [];
  });
}

describe("the Worker's clock", () => {
  afterEach(() => applyClockOffset({}));

  it("is Date.now() unless the test-only binding shifts it", () => {
    applyClockOffset({});
    expect(Math.abs(nowMs() - Date.now())).toBeLessThan(1000);
    applyClockOffset({ [CLOCK_OFFSET_BINDING]: String(-90 * 86_400_000) });
    expect(Math.round((Date.now() - nowMs()) / 86_400_000)).toBe(90);
    expect(Math.abs(nowDate().getTime() - nowMs())).toBeLessThan(1000);
    applyClockOffset({ [CLOCK_OFFSET_BINDING]: "not a number" });
    expect(Math.abs(nowMs() - Date.now())).toBeLessThan(1000);
  });

  it("is the only clock src/ reads (so the date guard moves all of it)", () => {
    const offenders: string[] = [];
    for (const file of sourceFiles(SRC)) {
      if (file.endsWith(path.join("lib", "clock.ts"))) continue;
      readFileSync(file, "utf8")
        .split("\n")
        .forEach((line, i) => {
          if (/Date\.now\b|new Date\(\)|scheduledTime/.test(line))
            offenders.push(`${path.relative(SRC, file)}:${i + 1}`);
        });
    }
    expect(offenders).toEqual([]);
  });
});
