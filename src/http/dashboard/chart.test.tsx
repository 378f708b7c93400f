import { describe, expect, it } from "vitest";
import { ChartTable, StackedBars } from "./chart";

const series = [
  { key: "a", label: "a" },
  { key: "b", label: "b <script>" },
];
const buckets = [
  { date: "2026-01-14", values: new Map([["a", 1_500_000_000n]]) },
  {
    date: "2026-01-15",
    values: new Map([
      ["a", 1n],
      ["b", 2n],
    ]),
  },
  { date: "2026-01-16", values: new Map<string, bigint>() },
];

describe("the server-drawn chart", () => {
  it("draws one bar per non-empty layer, with a title, escaping labels", () => {
    const svg = String(<StackedBars id="t" title="Spend" series={series} buckets={buckets} />);
    expect(svg.match(/<rect /g)).toHaveLength(3);
    expect(svg).toContain('<title id="t-title">Spend</title>');
    expect(svg).not.toContain("<script>");
    expect(svg).toContain("b &lt;script&gt;");
  });

  it("tables the exact numbers: bucket totals, and a grand total that is their sum", () => {
    const html = String(<ChartTable id="t" caption="c" series={series} buckets={buckets} bucketLabel="Day" />);
    const totals = [...html.matchAll(/data-usd="([^"]+)"[^>]*data-field="bucketTotal"/g)].map((m) => m[1]);
    expect(totals).toEqual(["1.50", "0.000000003", "0.00"]);
    expect(html).toMatch(/data-usd="1.500000003"[^>]*data-field="grandTotal"/);
  });
});
