/**
 * Requests: the latest calls matching the view's range and filters (newest first, 50 a page, an
 * "older" link with a cursor), and one call's record. Every usage bucket, cost, latency, TTFT,
 * status and usage source — never content, for there is none: Tollgate does not keep it.
 * The record's JSON is the API's (src/http/record-schemas.ts), so the detail page shows the
 * fields GET /v1/requests/{id} answers, value for value.
 */

import { usdToNano } from "../../lib/money";
import { findRecord, listRecords, type RecordCursor } from "../../reports/records";
import { queryUsage } from "../../reports/usage";
import { USAGE_COUNTS } from "../../usage";
import { recordToJson } from "../record-schemas";
import { Usd } from "./chart";
import type { DashContext } from "./env";
import { FilterBar } from "./filter-bar";
import { formatCount, formatMs } from "./format";
import { Page, Time, viewParams } from "./layout";
import { apiQuery, href, type ViewState } from "./state";

export const PAGE_SIZE = 50;

/** "<startedAt ms>~<id>" */
function readCursor(text: string | null): RecordCursor | undefined {
  const m = text ? /^(\d{1,15})~(.{1,300})$/.exec(text) : null;
  return m ? { startedAt: new Date(Number(m[1])), id: m[2]! } : undefined;
}

export async function loadRequests(c: DashContext, state: ViewState) {
  const accountId = c.var.view.accountId;
  const [page, usage] = await Promise.all([
    listRecords(c.var.db, {
      accountId,
      ...state.range,
      limit: PAGE_SIZE,
      before: readCursor(state.params.get("before")),
    }),
    queryUsage(c.var.db, { accountId, ...state.range, groupBy: [], interval: "none" }),
  ]);
  return { page, totals: usage.totals, rows: page.rows.map(recordToJson) };
}

export const REQUEST_COLUMNS = [
  "startedAt",
  "id",
  "tenant",
  "feature",
  "user",
  "environment",
  "workflow",
  "keyId",
  "provider",
  "modelRequested",
  "modelAnswered",
  "status",
  "usageSource",
  ...USAGE_COUNTS,
  "costUsd",
  "latencyMs",
  "ttftMs",
] as const;

export async function requestsPage(c: DashContext, state: ViewState) {
  const view = c.var.view;
  const { page, totals, rows } = await loadRequests(c, state);
  const p = new URLSearchParams(state.params);
  const csv = href("/dashboard/requests.csv", p);
  return c.html(
    <Page title="Requests" view={view} section="requests" tz={state.tz} tzSource={state.tzSource}>
      <h1>Requests</h1>
      <FilterBar view={view} state={state} action="/dashboard/requests" />
      <p data-metric="requests" data-api={`/v1/usage?${apiQuery(state, {})}`}>
        <strong data-field="requests">{formatCount(totals.requests)}</strong> calls match,{" "}
        <Usd nano={totals.costNano} tag="span" field="costUsd" /> in all;{" "}
        {state.params.has("before") ? "older ones" : "the latest"} {rows.length} below.{" "}
        <a href={csv}>CSV of this page</a>
      </p>
      <div class="panel scroll">
        <table class="data requests">
          <thead>
            <tr>
              <th scope="col">Started ({state.tz})</th>
              <th scope="col">Tenant</th>
              <th scope="col">Feature</th>
              <th scope="col">User</th>
              <th scope="col">Env</th>
              <th scope="col">Workflow</th>
              <th scope="col">Provider</th>
              <th scope="col">Model asked → answered</th>
              <th scope="col" class="num">
                Input
              </th>
              <th scope="col" class="num">
                Cache read
              </th>
              <th scope="col" class="num">
                Cache write
              </th>
              <th scope="col" class="num">
                Output
              </th>
              <th scope="col" class="num">
                Reasoning
              </th>
              <th scope="col" class="num">
                Cost
              </th>
              <th scope="col" class="num">
                Latency
              </th>
              <th scope="col" class="num">
                TTFT
              </th>
              <th scope="col">Status</th>
              <th scope="col">Usage</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr data-request={r.id}>
                <td>
                  <a
                    href={href(
                      `/dashboard/requests/${encodeURIComponent(r.id)}`,
                      viewParams(view),
                      state.params.has("tz") ? { tz: state.tz } : {},
                    )}
                  >
                    <Time ms={Date.parse(r.startedAt)} tz={state.tz} />
                  </a>
                </td>
                <td>{r.tenant ?? "–"}</td>
                <td>{r.feature ?? "–"}</td>
                <td>{r.user ?? "–"}</td>
                <td>{r.environment}</td>
                <td>{r.workflow ?? "–"}</td>
                <td>{r.provider}</td>
                <td>
                  {r.modelRequested ?? "–"}
                  {r.modelAnswered && r.modelAnswered !== r.modelRequested ? ` → ${r.modelAnswered}` : ""}
                  {r.priced ? "" : " (unpriced)"}
                </td>
                <td class="num" data-field="inputTokens">
                  {formatCount(r.inputTokens)}
                </td>
                <td class="num" data-field="cacheReadTokens">
                  {formatCount(r.cacheReadTokens)}
                </td>
                <td class="num" data-field="cacheWriteTokens">
                  {formatCount(r.cacheWriteTokens + r.cacheWrite1hTokens)}
                </td>
                <td class="num" data-field="outputTokens">
                  {formatCount(r.outputTokens)}
                </td>
                <td class="num" data-field="reasoningTokens">
                  {formatCount(r.reasoningTokens)}
                </td>
                <Usd nano={usdToNano(r.costUsd)} field="costUsd" />
                <td class="num">{formatMs(r.latencyMs)}</td>
                <td class="num">{formatMs(r.ttftMs)}</td>
                <td>{r.status}</td>
                <td>{r.usageSource}</td>
              </tr>
            ))}
            {rows.length === 0 ? (
              <tr>
                <td colspan={18} class="muted">
                  No calls match this range and these filters.
                </td>
              </tr>
            ) : null}
          </tbody>
        </table>
      </div>
      {page.next ? (
        <p>
          <a
            href={href("/dashboard/requests", state.params, {
              before: `${page.next.startedAt.getTime()}~${page.next.id}`,
            })}
          >
            Older calls →
          </a>
        </p>
      ) : null}
    </Page>,
  );
}

const LABELS: Record<string, string> = {
  user: "user",
  keyId: "key",
  costUsd: "cost (USD)",
  ttftMs: "time to first token (ms)",
};

export async function requestPage(c: DashContext, id: string, tz: string, tzSource: string) {
  const view = c.var.view;
  const r = recordToJson(await findRecord(c.var.db, view.accountId, id));
  const entries = Object.entries(r).filter(([k]) => k !== "ratesApplied" && k !== "tags");
  return c.html(
    <Page title={`Request ${r.id}`} view={view} section="requests" tz={tz} tzSource={tzSource}>
      <h1>Request {r.id}</h1>
      <p class="small muted">
        Every field of <code>GET /v1/requests/{r.id}</code>. Tollgate never keeps prompts or completions, so there is no
        content to show.
      </p>
      <div class="panel">
        <dl class="record">
          {entries.map(([k, v]) => (
            <>
              <dt>{LABELS[k] ?? k}</dt>
              <dd data-field={k}>
                {k === "startedAt" || k === "finishedAt" ? (
                  <Time ms={Date.parse(String(v))} tz={tz} />
                ) : k === "costUsd" ? (
                  <Usd nano={usdToNano(String(v))} tag="span" />
                ) : typeof v === "number" ? (
                  formatCount(v)
                ) : v === null ? (
                  "–"
                ) : (
                  String(v)
                )}
              </dd>
            </>
          ))}
          <dt>tags</dt>
          <dd data-field="tags">
            {Object.entries(r.tags)
              .map(([k, v]) => `${k}=${v}`)
              .join(", ") || "–"}
          </dd>
          <dt>rates applied</dt>
          <dd>
            <pre>{JSON.stringify(r.ratesApplied, null, 1) ?? "–"}</pre>
          </dd>
        </dl>
      </div>
      <p>
        <a href={href("/dashboard/requests", viewParams(view))}>← All requests</a>
      </p>
    </Page>,
  );
}
