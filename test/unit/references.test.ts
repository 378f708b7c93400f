/**
 * Every file a comment or a doc names resolves inside this repository, and no committed text
 * names a path of the machine it was written on: a reader elsewhere must be able to follow both.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const SKIP = new Set(["node_modules", ".git", ".tollgate", ".wrangler", ".bench", "dist", "fixtures", "results"]);

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (SKIP.has(e.name)) return [];
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return files(p);
    return /\.(tsx?|md|toml|sh)$/.test(e.name) ? [p] : [];
  });
}

const ALL = [
  ...["src", "test", "scripts", "pricing", "schema", "bench", "docs"].flatMap((d) =>
    existsSync(path.join(ROOT, d)) ? files(path.join(ROOT, d)) : [],
  ),
  ...["README.md", "wrangler.toml", ".ci/run"].map((f) => path.join(ROOT, f)).filter((f) => existsSync(f)),
];

describe("references", () => {
  it("every repository path a file names exists (relative to the root or to the file)", () => {
    const missing: string[] = [];
    // `dir/file.ext` or `./file.ext`, not inside a URL, a package name or a longer path.
    const ref = /(?<![\w@.:/-])((?:\.{1,2}\/|[\w-]+\/)[\w./-]*[\w-]\.(?:tsx?|md|json|toml|sql|yml|yaml))\b/g;
    for (const file of ALL) {
      // A source list ("- S12 owner/repo `path`", "- [OM1] openmeter `path`", with its indented
      // continuation lines) cites other repositories' files, not ours.
      const text = readFileSync(file, "utf8").replace(/^- (?:S\d+|\[[A-Z]+\d+\]) .*(?:\n {2,}.*)*$/gm, "");
      for (const m of text.matchAll(ref)) {
        const target = m[1]!;
        if (target.includes("node_modules")) continue;
        if (![path.join(ROOT, target), path.join(path.dirname(file), target)].some((p) => existsSync(p))) {
          missing.push(`${path.relative(ROOT, file)} → ${target}`);
        }
      }
      // A bare document name ("see README.md") must be one of ours: beside the file, at the root, in docs/ or bench/results/.
      for (const m of text.matchAll(/(?<![\w@.:/-])([\w-]+\.md)\b/g)) {
        const name = m[1]!;
        if (
          ![ROOT, path.join(ROOT, "docs"), path.join(ROOT, "bench", "results"), path.dirname(file)].some((d) =>
            existsSync(path.join(d, name)),
          )
        ) {
          missing.push(`${path.relative(ROOT, file)} → ${name}`);
        }
      }
    }
    expect(missing).toEqual([]);
  });

  it("no file names an absolute path of a developer's machine", () => {
    const found: string[] = [];
    for (const file of ALL) {
      readFileSync(file, "utf8")
        .split("\n")
        .forEach((line, i) => {
          if (/(^|[\s"'`(=])\/(work|root|home|Users)\//.test(line)) found.push(`${path.relative(ROOT, file)}:${i + 1}`);
        });
    }
    expect(found).toEqual([]);
  });
});
