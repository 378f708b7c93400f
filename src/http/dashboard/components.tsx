/** Small pieces several pages use: a number card, a top list with its "N others" row, the first-call snippet, a form's outcome. */
import type { Child } from "hono/jsx";
import { usdToNano } from "../../lib/money";
import type { TopJson } from "../../reports/usage";
import { Usd } from "./chart";
import { formatCount, formatShare } from "./format";

/** One headline number. `api`: the usage API query (path?query) that returns it, for whoever wants to check. */
export function Card(props: { label: string; metric: string; api?: string; children: Child; sub?: Child }) {
  return (
    <div class="card" data-metric={props.metric} {...(props.api ? { "data-api": props.api } : {})}>
      <div class="label">{props.label}</div>
      <div class="value">{props.children}</div>
      {props.sub ? <div class="sub">{props.sub}</div> : null}
    </div>
  );
}

export function TopTable(props: { title: string; top: TopJson; api: string }) {
  const { top } = props;
  return (
    <div class="panel scroll">
      <table class="data top" data-top={top.by} data-api={props.api}>
        <caption>{props.title}</caption>
        <thead>
          <tr>
            <th scope="col">{top.by}</th>
            <th scope="col" class="num">
              Cost
            </th>
            <th scope="col" class="num">
              Share
            </th>
            <th scope="col" class="num">
              Calls
            </th>
          </tr>
        </thead>
        <tbody>
          {top.rows.map((r) => (
            <tr data-value={r.value}>
              <th scope="row">{r.value}</th>
              <Usd nano={usd(r.costUsd)} />
              <td class="num">{formatShare(r.share)}</td>
              <td class="num" data-field="requests">
                {formatCount(r.requests)}
              </td>
            </tr>
          ))}
          {top.others.count > 0 ? (
            <tr data-value="(others)" data-others={top.others.count}>
              <th scope="row">{`${formatCount(top.others.count)} ${top.others.count === 1 ? "other" : "others"}`}</th>
              <Usd nano={usd(top.others.costUsd)} />
              <td class="num">
                {formatShare(
                  top.totals.costUsd === "0.00"
                    ? null
                    : Number(usd(top.others.costUsd)) / Number(usd(top.totals.costUsd)),
                )}
              </td>
              <td class="num" data-field="requests">
                {formatCount(top.others.requests)}
              </td>
            </tr>
          ) : null}
          {top.rows.length === 0 ? (
            <tr>
              <td colspan={4} class="muted">
                No calls in this range.
              </td>
            </tr>
          ) : null}
        </tbody>
      </table>
    </div>
  );
}

const usd = (s: string) => usdToNano(s);

/** What to do when there is nothing to show yet: the first call, with this gateway's address. */
export function FirstCall(props: { origin: string }) {
  return (
    <div class="panel">
      <h2>No calls in this range yet</h2>
      <p>Point your SDK at this gateway with a gateway key and make a call; it shows up here within seconds.</p>
      <pre>{`import OpenAI from "openai";

const openai = new OpenAI({
  baseURL: "${props.origin}/proxy/openai",
  apiKey: process.env.TOLLGATE_KEY, // tg_…
  defaultHeaders: { "x-tollgate-tenant": "acme", "x-tollgate-feature": "chat" },
});
await openai.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "Hi" }] });`}</pre>
    </div>
  );
}

/** What a form POST did, shown above the page it redirected to: a success line and/or the error (announced). */
export function Notices(props: { flash?: string; error?: string }) {
  return (
    <>
      {props.flash ? <p class="flash">{props.flash}</p> : null}
      {props.error ? (
        <p class="error" role="alert">
          {props.error}
        </p>
      ) : null}
    </>
  );
}
