/**
 * Unpriced models: what the account called that nothing could price (their calls count as $0 in
 * every report until priced), with a form that sets a model's price per million tokens — an
 * account override (src/pricing/store.ts), effective from now, for calls from then on.
 */
import { redisClient } from "../../lib/redis";
import { accountOverrideBodySchema } from "../../pricing/account-body";
import { setPriceOverride } from "../../pricing/store";
import { queryUnpriced } from "../../reports/unpriced";
import { Notices } from "./components";
import type { DashContext } from "./env";
import { formatCount } from "./format";
import { AccountField, Csrf, Page, Time, viewParams } from "./layout";
import { href } from "./state";

export async function unpricedPage(c: DashContext, opts: { tz: string; error?: string; flash?: string }) {
  const view = c.var.view;
  const models = await queryUnpriced(c.var.db, view.accountId);
  return c.html(
    <Page title="Unpriced models" view={view} section="unpriced" tz={opts.tz} tzSource="url">
      <h1>Unpriced models</h1>
      <p class="small muted">
        Calls to these models were forwarded and recorded with their tokens, but nothing could price them, so reports
        count them as $0. A price set here applies to calls from now on (past records keep the price they had).
      </p>
      <Notices flash={opts.flash} error={opts.error} />
      <div class="panel scroll">
        <table class="data unpriced">
          <thead>
            <tr>
              <th scope="col">Provider</th>
              <th scope="col">Model</th>
              <th scope="col" class="num">
                Calls
              </th>
              <th scope="col" class="num">
                Input tokens
              </th>
              <th scope="col" class="num">
                Output tokens
              </th>
              <th scope="col">Last seen</th>
              {view.readOnly ? null : <th scope="col">Set a price (USD per million tokens)</th>}
            </tr>
          </thead>
          <tbody>
            {models.map((m) => (
              <tr data-model={`${m.provider}/${m.model ?? ""}`}>
                <td>{m.provider}</td>
                <th scope="row">{m.model ?? "(none)"}</th>
                <td class="num" data-field="calls">
                  {formatCount(m.calls)}
                </td>
                <td class="num">{formatCount(m.inputTokens)}</td>
                <td class="num">{formatCount(m.outputTokens)}</td>
                <td>{m.lastSeenAt ? <Time ms={Date.parse(m.lastSeenAt)} tz={opts.tz} /> : "–"}</td>
                {view.readOnly || !m.model ? null : (
                  <td>
                    <form method="post" action="/dashboard/unpriced">
                      <Csrf view={view} />
                      <AccountField view={view} />
                      <input type="hidden" name="provider" value={m.provider} />
                      <input type="hidden" name="model" value={m.model} />
                      <input name="inputUsd" placeholder="input" size={6} aria-label="input USD per million" required />{" "}
                      <input
                        name="outputUsd"
                        placeholder="output"
                        size={6}
                        aria-label="output USD per million"
                        required
                      />{" "}
                      <button type="submit">Set price</button>
                    </form>
                  </td>
                )}
              </tr>
            ))}
            {models.length === 0 ? (
              <tr>
                <td colspan={7} class="muted">
                  Every model this account called has a price.
                </td>
              </tr>
            ) : null}
          </tbody>
        </table>
      </div>
    </Page>,
    opts.error ? 400 : 200,
  );
}

export async function setPriceAction(c: DashContext, tz: string) {
  const f = await c.req.parseBody();
  const s = (k: string) => (typeof f[k] === "string" ? (f[k] as string).trim() : "");
  const parsed = accountOverrideBodySchema.safeParse({ rates: { inputUsd: s("inputUsd"), outputUsd: s("outputUsd") } });
  if (!parsed.success || !s("provider") || !s("model")) {
    return unpricedPage(c, { tz, error: "Prices are decimal USD per million tokens, e.g. 0.15 and 0.60." });
  }
  const stores = { db: c.var.db, redis: redisClient(c.var.config) };
  await setPriceOverride(stores, c.var.view.accountId, s("provider"), s("model"), parsed.data);
  return c.redirect(href("/dashboard/unpriced", viewParams(c.var.view), { done: "priced" }), 303);
}
