/**
 * Spend over time as a stacked bar chart, drawn on the server as inline SVG (d3-scale for the axes,
 * d3-shape's stack for the layers): no client JavaScript, a few KB of markup. Each chart comes with
 * its data table — the same numbers, exact — for screen readers and for checking: the table's
 * column of bucket totals adds up to the range total shown beside it.
 *
 * Money is bigint nano-USD in the table; the bars' heights are floats of it, which is fine for
 * pixels and never used as a sum anyone reads.
 */
import { scaleBand, scaleLinear } from "d3-scale";
import { stack } from "d3-shape";
import { nanoToUsd } from "../../lib/money";
import { formatDate, formatUsd } from "./format";

export interface Series {
  /** The dimension value ("(unallocated)" included), or OTHERS. */
  key: string;
  label: string;
}

export interface Bucket {
  /** The bucket's first local day, "YYYY-MM-DD". */
  date: string;
  /** Series key → nano-USD. */
  values: Map<string, bigint>;
}

export const PALETTE = ["#2563eb", "#16a34a", "#d97706", "#9333ea", "#dc2626", "#0891b2", "#94a3b8"];

const W = 720;
const H = 220;
const M = { top: 10, right: 8, bottom: 24, left: 64 };

const total = (b: Bucket) => [...b.values.values()].reduce((s, v) => s + v, 0n);

export function StackedBars(props: { id: string; title: string; series: Series[]; buckets: Bucket[] }) {
  const { series, buckets } = props;
  const keys = series.map((s) => s.key);
  const rows = buckets.map((b) => {
    const row: Record<string, number> = {};
    for (const k of keys) row[k] = Number(b.values.get(k) ?? 0n) / 1e9;
    return row;
  });
  const layers = stack<Record<string, number>>().keys(keys)(rows);
  const max = Math.max(0, ...buckets.map((b) => Number(total(b)) / 1e9));
  const x = scaleBand<number>()
    .domain(buckets.map((_, i) => i))
    .range([M.left, W - M.right])
    .paddingInner(buckets.length > 40 ? 0.1 : 0.2);
  const y = scaleLinear()
    .domain([0, max || 1])
    .nice(4)
    .range([H - M.bottom, M.top]);
  const ticks = y.ticks(4);
  const labelEvery = Math.max(1, Math.ceil(buckets.length / 8));
  // Axis ticks are round numbers: "$0.50", not "$0.5000".
  const tickLabel = (usd: number) => formatUsd(BigInt(Math.round(usd * 1e9))).replace(/(\.\d\d\d*?)0+$/, "$1");
  const titleId = `${props.id}-title`;
  return (
    <svg viewBox={`0 0 ${W} ${H}`} class="chart" role="img" aria-labelledby={titleId}>
      <title id={titleId}>{props.title}</title>
      {ticks.map((t) => (
        <g>
          <line x1={M.left} x2={W - M.right} y1={y(t)} y2={y(t)} class="grid" />
          <text x={M.left - 6} y={y(t) + 4} text-anchor="end" class="tick">
            {tickLabel(t)}
          </text>
        </g>
      ))}
      {layers.map((layer, li) => (
        <g fill={PALETTE[Math.min(li, PALETTE.length - 1)]}>
          {layer.map((d, i) =>
            d[1] > d[0] ? (
              <rect x={x(i)} y={y(d[1])} width={x.bandwidth()} height={Math.max(0.5, y(d[0]) - y(d[1]))}>
                <title>
                  {`${formatDate(buckets[i]!.date)} · ${series[li]!.label}: ${formatUsd(buckets[i]!.values.get(keys[li]!) ?? 0n)}`}
                </title>
              </rect>
            ) : null,
          )}
        </g>
      ))}
      {buckets.map((b, i) =>
        i % labelEvery === 0 ? (
          <text x={(x(i) ?? 0) + x.bandwidth() / 2} y={H - 6} text-anchor="middle" class="tick">
            {formatDate(b.date, false)}
          </text>
        ) : null,
      )}
    </svg>
  );
}

export function Legend(props: { series: Series[] }) {
  return (
    <ul class="legend">
      {props.series.map((s, i) => (
        <li>
          <svg viewBox="0 0 10 10" width="10" height="10" aria-hidden="true">
            <rect width="10" height="10" fill={PALETTE[Math.min(i, PALETTE.length - 1)]} />
          </svg>{" "}
          {s.label}
        </li>
      ))}
    </ul>
  );
}

/** The chart's numbers: one row per bucket, one column per series, the bucket total, and a totals row. */
export function ChartTable(props: {
  id: string;
  caption: string;
  series: Series[];
  buckets: Bucket[];
  bucketLabel: string;
}) {
  const { series, buckets } = props;
  const sums = series.map((s) => buckets.reduce((t, b) => t + (b.values.get(s.key) ?? 0n), 0n));
  const grand = buckets.reduce((t, b) => t + total(b), 0n);
  return (
    <table class="data" id={props.id}>
      <caption>{props.caption}</caption>
      <thead>
        <tr>
          <th scope="col">{props.bucketLabel}</th>
          {series.map((s) => (
            <th scope="col">{s.label}</th>
          ))}
          <th scope="col">Total</th>
        </tr>
      </thead>
      <tbody>
        {buckets.map((b) => (
          <tr data-bucket={b.date}>
            <th scope="row">{formatDate(b.date)}</th>
            {series.map((s) => (
              <Usd nano={b.values.get(s.key) ?? 0n} />
            ))}
            <Usd nano={total(b)} field="bucketTotal" />
          </tr>
        ))}
      </tbody>
      <tfoot>
        <tr>
          <th scope="row">Total</th>
          {sums.map((n) => (
            <Usd nano={n} />
          ))}
          <Usd nano={grand} field="grandTotal" />
        </tr>
      </tfoot>
    </table>
  );
}

/** A money cell: rounded for reading, exact in data-usd and on hover. */
export function Usd(props: { nano: bigint; field?: string; tag?: "td" | "span" }) {
  const exact = props.nano;
  const Tag = props.tag ?? "td";
  const usd = nanoToUsd(exact);
  return (
    <Tag class="num" data-usd={usd} title={`${usd} USD`} {...(props.field ? { "data-field": props.field } : {})}>
      {formatUsd(exact)}
    </Tag>
  );
}
