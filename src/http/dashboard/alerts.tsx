/**
 * Alerts (admin sessions): the channels every alert is sent to — add a webhook (its
 * signing secret shown once) or an email address, remove one — and the delivery log, newest first.
 * The work is src/alerts/channels.ts; the form is read with the admin API's schema.
 */
import { createChannel, deleteChannel, listChannels, listDeliveries } from "../../alerts/channels";
import { sealingSecret } from "../../config";
import { CreateBody } from "../admin/alerts";
import { Notices } from "./components";
import type { DashContext, View } from "./env";
import { formatMs } from "./format";
import { AccountField, Csrf, Page, Time, viewParams } from "./layout";
import { href } from "./state";

export async function alertsPage(c: DashContext, opts: { tz: string; secret?: string; error?: string }) {
  const view = c.var.view;
  const [channels, deliveries] = await Promise.all([
    listChannels(c.var.db, view.accountId),
    listDeliveries(c.var.db, view.accountId, { limit: 50 }),
  ]);
  if (opts.secret) c.header("cache-control", "no-store");
  return c.html(
    <Page title="Alerts" view={view} section="alerts" tz={opts.tz} tzSource="url">
      <h1>Alerts</h1>
      {opts.secret ? (
        <div class="flash" role="status">
          <p>
            <strong>The webhook's signing secret</strong>, shown once (verify <code>x-tollgate-signature</code> with
            it):
          </p>
          <code class="secret">{opts.secret}</code>
        </div>
      ) : null}
      <Notices error={opts.error} />
      <div class="panel scroll">
        <table class="data channels">
          <caption>
            Every channel gets every alert: budget thresholds crossed (once per rule and period), forecasts over a cap,
            spend anomalies, reconciliation differences.
          </caption>
          <thead>
            <tr>
              <th scope="col">Kind</th>
              <th scope="col">Target</th>
              <th scope="col">Added</th>
              <th scope="col">Remove</th>
            </tr>
          </thead>
          <tbody>
            {channels.map((ch) => (
              <tr data-channel={ch.id}>
                <td>
                  {ch.kind}
                  {ch.kind === "webhook" ? (ch.secret ? " (signed)" : "") : ""}
                </td>
                <td>{ch.url ?? ch.email}</td>
                <td>
                  <Time ms={ch.createdAt.getTime()} tz={opts.tz} />
                </td>
                <td>
                  <form method="post" action={`/dashboard/alerts/${ch.id}/delete`} data-confirm="Remove this channel?">
                    <Csrf view={view} />
                    <AccountField view={view} />
                    <button type="submit" class="danger">
                      Remove
                    </button>
                  </form>
                </td>
              </tr>
            ))}
            {channels.length === 0 ? (
              <tr>
                <td colspan={4} class="muted">
                  No channels: alerts go nowhere. Add a webhook or an email below.
                </td>
              </tr>
            ) : null}
          </tbody>
        </table>
      </div>
      <AddChannel view={view} />
      <h2>Deliveries</h2>
      <div class="panel scroll">
        <table class="data deliveries">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Event</th>
              <th scope="col">Budget</th>
              <th scope="col">Threshold</th>
              <th scope="col">Target</th>
              <th scope="col">Attempt</th>
              <th scope="col">Status</th>
              <th scope="col">HTTP</th>
              <th scope="col">Took</th>
              <th scope="col">Error</th>
            </tr>
          </thead>
          <tbody>
            {deliveries.map((d) => (
              <tr>
                <td>
                  <Time ms={d.createdAt.getTime()} tz={opts.tz} />
                </td>
                <td>{d.eventType}</td>
                <td>{d.budgetId ?? "–"}</td>
                <td>{d.threshold === null ? "–" : `${d.threshold} %`}</td>
                <td>{d.target}</td>
                <td>{d.attempt}</td>
                <td>{d.status}</td>
                <td>{d.httpStatus ?? "–"}</td>
                <td>{formatMs(d.durationMs === null ? null : Math.round(d.durationMs))}</td>
                <td>{d.error ?? ""}</td>
              </tr>
            ))}
            {deliveries.length === 0 ? (
              <tr>
                <td colspan={10} class="muted">
                  Nothing delivered yet.
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

function AddChannel(props: { view: View }) {
  return (
    <form method="post" action="/dashboard/alerts" class="panel" aria-label="New alert channel">
      <h2>Add a channel</h2>
      <Csrf view={props.view} />
      <AccountField view={props.view} />
      <fieldset>
        <label>
          Kind
          <select name="kind">
            <option value="webhook">webhook</option>
            <option value="email">email</option>
          </select>
        </label>
        <label>
          Webhook URL
          <input name="url" type="url" size={28} placeholder="https://example.com/hooks/tollgate" />
        </label>
        <label>
          Secret (optional, ≥ 16 characters)
          <input name="secret" size={16} />
        </label>
        <label>
          Email
          <input name="email" type="email" size={20} />
        </label>
        <button type="submit" class="primary">
          Add
        </button>
      </fieldset>
    </form>
  );
}

export async function addChannelAction(c: DashContext, tz: string) {
  const f = await c.req.parseBody();
  const s = (k: string) => (typeof f[k] === "string" ? (f[k] as string).trim() : "");
  const parsed = CreateBody.safeParse(
    s("kind") === "email"
      ? { kind: "email", email: s("email") }
      : { kind: "webhook", url: s("url"), ...(s("secret") ? { secret: s("secret") } : {}) },
  );
  if (!parsed.success) {
    return alertsPage(c, { tz, error: parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ") });
  }
  const made = await createChannel(c.var.db, c.var.view.accountId, parsed.data, sealingSecret(c.var.config));
  if (made.secret) return alertsPage(c, { tz, secret: made.secret });
  return c.redirect(href("/dashboard/alerts", viewParams(c.var.view), { done: "added" }), 303);
}

export async function removeChannelAction(c: DashContext, id: string) {
  await deleteChannel(c.var.db, c.var.view.accountId, id);
  return c.redirect(href("/dashboard/alerts", viewParams(c.var.view), { done: "removed" }), 303);
}
