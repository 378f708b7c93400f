/**
 * The overview: spend today and this month, the range's totals (calls, errors, cost per successful
 * outcome, cache savings), an unpriced-model warning, spend over time stacked by any dimension
 * (split into small multiples by a second one), and top lists with their "N others" row.
 *
 * Every number comes from the functions the usage API answers with (src/reports/usage.ts,
 * units.ts), called with the query the API would build from the same URL parameters — each card
 * and table names that query in data-api — so the page and the API cannot disagree.
 */
import type { Child } from "hono/jsx";
import { usdToNano } from "../../lib/money";
import { divRound, type ReportsDb } from "../../reports/db";
import type { Dimension, NamedDimension } from "../../reports/dimensions";
import { cachedInputShare, cacheSavingsUsd } from "../../reports/units";
import {
  canUseDayTotals,
  queryTop,
  queryUsage,
  type TopJson,
  type UsageResult,
  type UsageSums,
} from "../../reports/usage";
import { ChartTable, Legend, StackedBars, Usd } from "./chart";
import { Card, FirstCall, TopTable } from "./components";
import type { View } from "./env";
import { FilterBar } from "./filter-bar";
import { formatCount, formatDate, formatShare } from "./format";
import { Page } from "./layout";
import { bucketDates, chartBuckets, chartSeries, ranked } from "./series";
import { ShareForm } from "./share-form";
import { apiQuery, calendar, href, type ViewState } from "./state";

export interface OverviewData {
  chart: UsageResult;
  groupBy: Dimension[];
  /** The range's totals, with what caching saved. */
  totals: UsageSums;
  today: UsageSums;
  month: UsageSums;
  tops: TopJson[];
  calendar: ReturnType<typeof calendar>;
}

export const TOP_LIMIT = 5;

/**
 * Every query of the page, at once (one db session; the Neon pool runs them side by side). All
 * but the chart's keep the day totals' fast path in any zone (interval none); the top lists reuse
 * the range totals instead of each reading them again. Cache savings come from the same per-record
 * sums /usage/units adds up (src/reports/metrics.ts), read here from the day totals.
 */
export async function loadOverview(
  db: ReportsDb,
  input: { accountId: string; state: ViewState; nowMs: number; tops: NamedDimension[] },
): Promise<OverviewData> {
  const { accountId, state } = input;
  const cal = calendar(input.nowMs, state.tz);
  const base = {
    accountId,
    filters: state.range.filters,
    tz: state.tz,
    groupBy: [] as Dimension[],
    interval: "none" as const,
  };
  const groupBy = state.split ? [state.stack, state.split] : [state.stack];
  // On the day totals' path the chart's own totals are the range's (cache savings cost it little:
  // only edge days and fresh records are read raw); in another zone the chart reads raw records,
  // and a separate totals query keeps the fast path.
  const chartQuery = { accountId, ...state.range, groupBy, interval: state.interval };
  const chartFast = canUseDayTotals(chartQuery);
  const chart = queryUsage(db, { ...chartQuery, cacheSavings: chartFast });
  const range = chartFast ? chart : queryUsage(db, { ...base, ...state.range, cacheSavings: true });
  const [chartResult, totals, today, month, ...tops] = await Promise.all([
    chart,
    range,
    queryUsage(db, { ...base, from: new Date(cal.today.from), to: new Date(cal.today.to) }),
    queryUsage(db, { ...base, from: new Date(cal.month.from), to: new Date(cal.month.to) }),
    ...input.tops.map(async (by) =>
      queryTop(db, { accountId, ...state.range, by, limit: TOP_LIMIT, totals: (await range).totals }),
    ),
  ]);
  return {
    chart: chartResult,
    groupBy,
    totals: totals.totals,
    today: today.totals,
    month: month.totals,
    tops,
    calendar: cal,
  };
}

const MAX_SPLITS = 3;

function Charts(props: { data: OverviewData; state: ViewState }) {
  const { data, state } = props;
  const stack = state.stack;
  const dates = bucketDates(state.fromDate, state.toDate, state.interval);
  const series = chartSeries(data.chart.groups, stack);
  const bucketLabel = state.interval === "day" ? "Day" : state.interval === "week" ? "Week of" : "Month";
  const panels: { id: string; title: string; groups: typeof data.chart.groups }[] = [];
  if (!state.split) {
    panels.push({ id: "spend", title: `Spend per ${state.interval} by ${stack}`, groups: data.chart.groups });
  } else {
    const split = state.split;
    const values = ranked(data.chart.groups, split);
    const shown = values.length > MAX_SPLITS + 1 ? values.slice(0, MAX_SPLITS) : values;
    shown.forEach((v, i) => {
      panels.push({
        id: `spend-${i}`,
        title: `${split} ${v.value}: spend per ${state.interval} by ${stack}`,
        groups: data.chart.groups.filter((g) => g.dims[split] === v.value),
      });
    });
    if (values.length > shown.length) {
      const named = new Set(shown.map((v) => v.value));
      panels.push({
        id: `spend-${shown.length}`,
        title: `${values.length - shown.length} other ${split} values: spend per ${state.interval} by ${stack}`,
        groups: data.chart.groups.filter((g) => !named.has(g.dims[split]!)),
      });
    }
  }
  return (
    <div class={state.split ? "split" : ""}>
      {panels.map((p) => {
        const buckets = chartBuckets(p.groups, stack, series, dates, state.interval, state.tz);
        return (
          <figure class="panel" data-chart={p.id}>
            <figcaption>
              <strong>{p.title}</strong>{" "}
              <span class="muted small">
                ({state.tz}; {formatDate(state.fromDate)} – {formatDate(state.toDate)}, the last day not included)
              </span>
            </figcaption>
            <StackedBars id={p.id} title={p.title} series={series} buckets={buckets} />
            <Legend series={series} />
            <details>
              <summary>Data table</summary>
              <div class="scroll">
                <ChartTable
                  id={`${p.id}-table`}
                  caption={`${p.title}, USD`}
                  series={series}
                  buckets={buckets}
                  bucketLabel={bucketLabel}
                />
              </div>
            </details>
          </figure>
        );
      })}
    </div>
  );
}

/** Cards, warnings, charts and top lists; `apiBase` is the usage API path the numbers match ("/v1/usage"). */
export function OverviewBody(props: {
  view: View;
  state: ViewState;
  data: OverviewData;
  origin: string;
  apiBase: string;
  csvHref: string;
  filterBar: Child;
}) {
  const { view, state, data, apiBase } = props;
  const t = data.totals;
  const cal = data.calendar;
  const q = (over: Parameters<typeof apiQuery>[1]) => apiQuery(state, over);
  const rangeApi = `${apiBase}?${q({})}`;
  const inputAll =
    t.inputTokens +
    t.cacheReadTokens +
    t.cacheWriteTokens +
    t.cacheWrite1hTokens +
    t.inputAudioTokens +
    t.cacheAudioReadTokens;
  const cachedShare = cachedInputShare(t.cacheReadTokens + t.cacheAudioReadTokens, inputAll);
  const savings = cacheSavingsUsd(t.cacheSavingsNano, t.cacheSavingsUnknown);
  return (
    <>
      {props.filterBar}
      <div class="cards">
        <Card
          label={`Today (${formatDate(cal.today.date)})`}
          metric="todayCostUsd"
          api={`${apiBase}?${q({ from: cal.today.from, to: cal.today.to })}`}
          sub={`${formatCount(data.today.requests)} calls`}
        >
          <Usd nano={data.today.costNano} tag="span" />
        </Card>
        <Card
          label={`This month (${formatDate(cal.month.date).slice(2)})`}
          metric="monthCostUsd"
          api={`${apiBase}?${q({ from: cal.month.from, to: cal.month.to })}`}
          sub={`${formatCount(data.month.requests)} calls`}
        >
          <Usd nano={data.month.costNano} tag="span" />
        </Card>
        <Card label="Spend in range" metric="costUsd" api={rangeApi}>
          <Usd nano={t.costNano} tag="span" />
        </Card>
        <Card label="Calls in range" metric="requests" api={rangeApi} sub={`${formatCount(t.errors)} errors`}>
          <span data-field="requests">{formatCount(t.requests)}</span>
        </Card>
        <Card
          label="Cost per successful outcome"
          metric="costPerSuccessUsd"
          api={rangeApi}
          sub={`${formatCount(t.successes)} successes, ${formatCount(t.failures)} failures`}
        >
          {t.successes > 0n ? <Usd nano={divRound(t.costNano, t.successes)} tag="span" /> : "–"}
        </Card>
        <Card
          label="Cache savings"
          metric="cacheSavingsUsd"
          api={`${apiBase}/units?${q({})}`}
          sub={`${formatShare(cachedShare)} of input tokens from cache`}
        >
          {savings === null ? "unknown" : <Usd nano={usdToNano(savings)} tag="span" />}
        </Card>
      </div>
      {t.unpricedRequests > 0n ? (
        <p class="warn" role="status" data-metric="unpricedRequests">
          {formatCount(t.unpricedRequests)} {t.unpricedRequests === 1n ? "call" : "calls"} in this range went to models
          nothing could price: their cost is counted as $0 here.{" "}
          {view.kind === "share" ? null : (
            <a href={href("/dashboard/unpriced", accountOnly(view))}>See the models and set their price</a>
          )}
        </p>
      ) : null}
      {t.requests === 0n && view.kind !== "share" ? <FirstCall origin={props.origin} /> : null}
      <h2>Spend over time</h2>
      <p class="small muted">
        Stacked by <strong>{state.stack}</strong>
        {state.split ? (
          <>
            , split by <strong>{state.split}</strong>
          </>
        ) : null}
        . Same numbers as <code>{`GET ${apiBase}?${q({ groupBy: data.groupBy, interval: state.interval })}`}</code> —{" "}
        <a href={props.csvHref}>download CSV</a>.
      </p>
      <Charts data={data} state={state} />
      <h2>Top</h2>
      <div class="split">
        {data.tops.map((top) => (
          <TopTable
            title={`Top ${top.by} by cost`}
            top={top}
            api={`${apiBase}/top?${q({})}&by=${top.by}&limit=${TOP_LIMIT}`}
          />
        ))}
      </div>
      <p class="small muted">
        {`${formatCount(t.inputTokens + t.cacheReadTokens + t.cacheWriteTokens + t.cacheWrite1hTokens)} input tokens (cache reads and writes included), ${formatCount(t.outputTokens)} output tokens (${formatCount(t.reasoningTokens)} of them reasoning).`}
      </p>
    </>
  );
}

const accountOnly = (view: View) => {
  const p = new URLSearchParams();
  if (view.kind === "admin") p.set("account", view.accountId);
  return p;
};

/** The whole overview page (the route and the benchmark render it the same way). */
export function OverviewPage(props: {
  view: View;
  state: ViewState;
  data: OverviewData;
  origin: string;
  apiBase: string;
}) {
  const { view, state } = props;
  const tenant = state.range.filters.find((f) => f.dim === "tenant")?.values[0];
  return (
    <Page title="Overview" view={view} section="overview" tz={state.tz} tzSource={state.tzSource}>
      <h1>{view.accountName}</h1>
      <OverviewBody
        view={view}
        state={state}
        data={props.data}
        origin={props.origin}
        apiBase={props.apiBase}
        csvHref={href("/dashboard/usage.csv", state.params)}
        filterBar={<FilterBar view={view} state={state} action="/dashboard" grouping />}
      />
      {view.kind === "admin" ? <ShareForm view={view} tenant={tenant} /> : null}
    </Page>
  );
}
