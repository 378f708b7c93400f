/**
 * Signing in and out, and who is looking at a page:
 *   GET  /dashboard/login    the form (field `token`: the admin token or a gateway key)
 *   POST /dashboard/login    → a session cookie (src/http/dashboard/session.ts), 303 to the dashboard
 *   POST /dashboard/logout   → the cookie cleared
 * requireView runs before every other page: no session → the sign-in form; a key session whose
 * key was revoked since → signed out; a POST without this session's CSRF token, or from another
 * origin → 403; a key session may not change anything (403).
 */

import { eq } from "drizzle-orm";
import type { MiddlewareHandler } from "hono";
import { gatewayKeys } from "../../../schema";
import { requireAccount } from "../../accounts";
import { GatewayError } from "../../lib/errors";
import { redisClient } from "../../lib/redis";
import { isTimeZone } from "../../lib/zone";
import { identify } from "../../proxy/identify";
import { Notices } from "./components";
import { type DashContext, type DashEnv, PageError } from "./env";
import { Page } from "./layout";
import {
  checkLoginNonce,
  clearLoginNonce,
  endSession,
  loginNonce,
  readSession,
  sameOrigin,
  sameText,
  setZoneCookie,
  startSession,
} from "./session";

/** Where to go after signing in: a dashboard path of this gateway, nothing else. */
function safeNext(next: string | undefined): string {
  return next && /^\/dashboard(?:[/?#]|$)/.test(next) && !next.startsWith("//") ? next : "/dashboard";
}

export const forbidden = (message: string) => new PageError(403, message);

async function loginPage(c: DashContext, opts: { error?: string; next?: string; status?: 200 | 401 | 403 } = {}) {
  const nonce = await loginNonce(c);
  c.header("cache-control", "no-store");
  return c.html(
    <Page title="Sign in" view={null}>
      <div class="login panel">
        <h1>Sign in to the dashboard</h1>
        <Notices error={opts.error} />
        <form method="post" action="/dashboard/login">
          <input type="hidden" name="nonce" value={nonce} />
          <input type="hidden" name="next" value={safeNext(opts.next)} />
          <input type="hidden" name="tz" value="" data-browser="1" />
          <p>
            <label>
              Admin token or gateway key (<code>tg_…</code>)
              <br />
              <input type="password" name="token" autocomplete="current-password" required />
            </label>
          </p>
          <p class="small muted">
            The admin token opens every account and can change budgets, keys and alerts. A gateway key opens its own
            account, read-only.
          </p>
          <button type="submit" class="primary">
            Sign in
          </button>
        </form>
      </div>
    </Page>,
    opts.status ?? 200,
  );
}

export const showLogin = (c: DashContext) => loginPage(c, { next: c.req.query("next") });

export async function postLogin(c: DashContext) {
  const form = await c.req.parseBody();
  const text = (name: string) => (typeof form[name] === "string" ? (form[name] as string) : "");
  if (!sameOrigin(c) || !(await checkLoginNonce(c, text("nonce")))) {
    return loginPage(c, { error: "The sign-in form expired or came from another site. Try again.", status: 403 });
  }
  const token = text("token").trim();
  const next = safeNext(text("next"));
  const tz = text("tz");
  if (tz && isTimeZone(tz)) setZoneCookie(c, tz);
  if (token && sameText(token, c.var.config.TOLLGATE_ADMIN_TOKEN)) {
    await startSession(c, { kind: "admin" });
  } else if (token.startsWith("tg_")) {
    const redis = redisClient(c.var.config);
    try {
      const id = await identify({ gatewayKey: token, byok: false }, { redis, db: () => c.var.db });
      const [row] = await c.var.db.select().from(gatewayKeys).where(eq(gatewayKeys.id, id.keyId));
      if (!row || row.revokedAt) throw new GatewayError("authentication", "revoked");
      await startSession(c, { kind: "key", acc: id.accountId, key: id.keyId });
    } catch (err) {
      if (!(err instanceof GatewayError)) throw err;
      return loginPage(c, { error: "That gateway key is unknown or revoked.", next, status: 401 });
    }
  } else {
    return loginPage(c, { error: "That is neither the admin token nor a gateway key.", next, status: 401 });
  }
  clearLoginNonce(c);
  return c.redirect(next, 303);
}

export async function postLogout(c: DashContext) {
  const session = await readSession(c);
  const form = await c.req.parseBody();
  if (session && (!sameOrigin(c) || !sameText(String(form._csrf ?? ""), session.csrf))) {
    throw forbidden("This form is not from your session (CSRF check failed).");
  }
  endSession(c);
  return c.redirect("/dashboard/login", 303);
}

/** Sets c.var.view, or answers for the page (sign-in, 403). Admins name the account in ?account= (or the form). */
export const requireView: MiddlewareHandler<DashEnv> = async (c, next) => {
  const session = await readSession(c);
  const isPost = c.req.method === "POST";
  if (!session) {
    if (isPost) throw forbidden("You are signed out. Sign in again and resend the form.");
    const url = new URL(c.req.url);
    return c.redirect(`/dashboard/login?next=${encodeURIComponent(url.pathname + url.search)}`, 303);
  }
  let accountId: string;
  if (isPost) {
    const form = await c.req.parseBody();
    if (!sameOrigin(c) || !sameText(String(form._csrf ?? ""), session.csrf)) {
      throw forbidden("This form is not from your session (CSRF check failed).");
    }
    if (session.kind !== "admin") throw forbidden("A gateway-key session is read-only: sign in with the admin token.");
    accountId = String(form.account ?? c.req.query("account") ?? "");
  } else {
    accountId = session.kind === "admin" ? (c.req.query("account") ?? "") : session.acc!;
  }
  if (session.kind === "key") {
    const [key] = await c.var.db.select().from(gatewayKeys).where(eq(gatewayKeys.id, session.key!));
    if (!key || key.revokedAt || key.accountId !== session.acc) {
      endSession(c);
      return loginPage(c, { error: "The gateway key of this session was revoked. Sign in again.", status: 401 });
    }
  }
  if (!accountId) {
    if (session.kind === "admin" && !isPost) return c.redirect("/dashboard/accounts", 303);
    throw new PageError(400, "No account chosen.");
  }
  const account = await requireAccount(c.var.db, accountId);
  c.set("view", {
    kind: session.kind,
    accountId: account.id,
    accountName: account.name,
    csrf: session.csrf,
    readOnly: session.kind !== "admin",
    base: "/dashboard",
  });
  c.header("cache-control", "no-store");
  await next();
};

/** For the account picker: an admin session is enough, no account yet. */
export const requireAdminSession: MiddlewareHandler<DashEnv> = async (c, next) => {
  const session = await readSession(c);
  if (!session) return c.redirect("/dashboard/login?next=%2Fdashboard", 303);
  if (session.kind !== "admin") return c.redirect("/dashboard", 303);
  c.set("view", {
    kind: "admin",
    accountId: "",
    accountName: "",
    csrf: session.csrf,
    readOnly: false,
    base: "/dashboard",
  });
  c.header("cache-control", "no-store");
  await next();
};
