/**
 * Keys (admin sessions): every gateway key with its owner, environment and rate limits; create
 * one (its secret shown on the answer page, once, never again), set its limits, revoke it — the
 * next proxied call with it gets 401. The work is src/keys.ts, as for the admin API.
 */
import { z } from "zod";
import { MAX_WAIT_LIMIT_MS } from "../../budgets";
import { createKey, listKeyLimits, listKeys, revokeKey, setKeyLimits } from "../../keys";
import { redisClient } from "../../lib/redis";
import { KeyCreateBody } from "../admin/keys";
import { Notices } from "./components";
import type { DashContext, View } from "./env";
import { AccountField, Csrf, Page, Time, viewParams } from "./layout";
import { href } from "./state";

const stores = (c: DashContext) => ({ db: c.var.db, redis: redisClient(c.var.config) });
const Limit = z.coerce.number().int().min(1).max(1_000_000_000).nullable();
const MaxWait = z.coerce.number().int().min(0).max(MAX_WAIT_LIMIT_MS);

async function fields(c: DashContext) {
  const f = await c.req.parseBody();
  return (k: string) => (typeof f[k] === "string" ? (f[k] as string).trim() : "");
}

const limitOf = (text: string) => (text === "" ? null : Limit.safeParse(text));

export async function keysPage(
  c: DashContext,
  opts: { tz: string; created?: { id: string; key: string }; error?: string; flash?: string },
) {
  const view = c.var.view;
  const [keys, limits] = await Promise.all([
    listKeys(c.var.db, view.accountId),
    listKeyLimits(c.var.db, view.accountId),
  ]);
  if (opts.created) c.header("cache-control", "no-store");
  return c.html(
    <Page title="Keys" view={view} section="keys" tz={opts.tz} tzSource="url">
      <h1>Gateway keys</h1>
      {opts.created ? (
        <div class="flash" role="status" data-created-key={opts.created.id}>
          <p>
            <strong>Copy this key now.</strong> It is shown once: Tollgate keeps only its SHA-256.
          </p>
          <code class="secret" data-secret="key">
            {opts.created.key}
          </code>
        </div>
      ) : null}
      <Notices flash={opts.flash} error={opts.error} />
      <div class="panel scroll">
        <table class="data keys">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Owner</th>
              <th scope="col">Environment</th>
              <th scope="col">Key</th>
              <th scope="col">Created</th>
              <th scope="col">Limits (requests, tokens per minute; budget wait)</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {keys.map((k) => {
              const l = limits.get(k.id);
              return (
                <tr data-key={k.id} data-revoked={k.revokedAt ? "1" : "0"}>
                  <th scope="row">{k.name}</th>
                  <td>{k.owner}</td>
                  <td>{k.environment ?? "–"}</td>
                  <td>
                    <code>{k.keyPrefix}…</code> <span class="muted small">{k.id}</span>
                  </td>
                  <td>
                    <Time ms={k.createdAt.getTime()} tz={opts.tz} />
                  </td>
                  <td>
                    {k.revokedAt ? (
                      "–"
                    ) : (
                      <form method="post" action={`/dashboard/keys/${k.id}/limits`}>
                        <Csrf view={view} />
                        <AccountField view={view} />
                        <input
                          name="requestsPerMinute"
                          value={l?.requestsPerMinute ?? ""}
                          placeholder="requests"
                          size={7}
                          aria-label="requests per minute"
                        />{" "}
                        <input
                          name="tokensPerMinute"
                          value={l?.tokensPerMinute ?? ""}
                          placeholder="tokens"
                          size={9}
                          aria-label="tokens per minute"
                        />{" "}
                        <input
                          name="maxWaitMs"
                          value={l?.maxWaitMs ?? ""}
                          placeholder="wait ms"
                          size={6}
                          aria-label="how long calls may wait for budget holds in flight, ms"
                        />{" "}
                        <button type="submit">Set</button>
                      </form>
                    )}
                  </td>
                  <td>
                    {k.revokedAt ? (
                      <span>
                        revoked <Time ms={k.revokedAt.getTime()} tz={opts.tz} />
                      </span>
                    ) : (
                      <form
                        method="post"
                        action={`/dashboard/keys/${k.id}/revoke`}
                        data-confirm="Revoke this key? Calls with it are refused from then on."
                      >
                        <Csrf view={view} />
                        <AccountField view={view} />
                        <button type="submit" class="danger">
                          Revoke
                        </button>
                      </form>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <CreateKey view={view} />
    </Page>,
    opts.error ? 400 : 200,
  );
}

function CreateKey(props: { view: View }) {
  return (
    <form method="post" action="/dashboard/keys" class="panel" aria-label="New key">
      <h2>New key</h2>
      <Csrf view={props.view} />
      <AccountField view={props.view} />
      <fieldset>
        <label>
          Name
          <input name="name" required size={14} />
        </label>
        <label>
          Owner
          <input name="owner" required size={16} placeholder="team@example.com" />
        </label>
        <label>
          Environment
          <input name="environment" size={10} placeholder="production" />
        </label>
        <label>
          Requests / min
          <input name="requestsPerMinute" size={7} />
        </label>
        <label>
          Tokens / min
          <input name="tokensPerMinute" size={9} />
        </label>
        <button type="submit" class="primary">
          Create key
        </button>
      </fieldset>
    </form>
  );
}

export async function createKeyAction(c: DashContext, tz: string) {
  const s = await fields(c);
  const body = KeyCreateBody.safeParse({
    name: s("name"),
    owner: s("owner"),
    environment: s("environment") || undefined,
  });
  const rpm = limitOf(s("requestsPerMinute"));
  const tpm = limitOf(s("tokensPerMinute"));
  const problems = [
    ...(body.success ? [] : body.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`)),
    ...(rpm && !rpm.success ? ["requests per minute: a whole number from 1"] : []),
    ...(tpm && !tpm.success ? ["tokens per minute: a whole number from 1"] : []),
  ];
  if (!body.success || problems.length) return keysPage(c, { tz, error: problems.join("; ") });
  const made = await createKey(stores(c), c.var.view.accountId, body.data);
  const requestsPerMinute = rpm?.success ? rpm.data : null;
  const tokensPerMinute = tpm?.success ? tpm.data : null;
  if (requestsPerMinute || tokensPerMinute) {
    await setKeyLimits(stores(c), c.var.view.accountId, made.row.id, { requestsPerMinute, tokensPerMinute });
  }
  // The answer itself shows the key (no redirect: a reload must not show it again from a URL).
  return keysPage(c, { tz, created: { id: made.row.id, key: made.key } });
}

export async function revokeKeyAction(c: DashContext, keyId: string) {
  await revokeKey(stores(c), c.var.view.accountId, keyId);
  return c.redirect(href("/dashboard/keys", viewParams(c.var.view), { done: "revoked" }), 303);
}

export async function keyLimitsAction(c: DashContext, keyId: string, tz: string) {
  const s = await fields(c);
  const rpm = limitOf(s("requestsPerMinute"));
  const tpm = limitOf(s("tokensPerMinute"));
  const wait = s("maxWaitMs") === "" ? null : MaxWait.safeParse(s("maxWaitMs"));
  if ((rpm && !rpm.success) || (tpm && !tpm.success) || (wait && !wait.success))
    return keysPage(c, {
      tz,
      error: `Limits are whole numbers from 1, the wait 0 to ${MAX_WAIT_LIMIT_MS} ms (empty: none, or the default wait).`,
    });
  await setKeyLimits(stores(c), c.var.view.accountId, keyId, {
    requestsPerMinute: rpm?.success ? rpm.data : null,
    tokensPerMinute: tpm?.success ? tpm.data : null,
    maxWaitMs: wait?.success ? wait.data : null,
  });
  return c.redirect(href("/dashboard/keys", viewParams(c.var.view), { done: "limits" }), 303);
}
