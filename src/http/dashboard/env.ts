/**
 * The dashboard's Hono env: the Worker's bindings, the validated config and a per-request db (as
 * the APIs have), and who is looking — set by requireView (src/http/dashboard/auth.tsx) or, on a
 * share link, by the share page itself.
 */
import type { Context } from "hono";
import type { Config, Env } from "../../config";
import type { Db } from "../../lib/db";

export interface View {
  /** admin: the admin token (any account, may change things); key: a gateway key (its account, read-only); share: a tenant's link. */
  kind: "admin" | "key" | "share";
  accountId: string;
  accountName: string;
  /** The session's CSRF token, sent back by every form POST; null on share links (no forms). */
  csrf: string | null;
  readOnly: boolean;
  /** Share links: the one tenant shown. */
  tenant?: string;
  /** Where this view's links start: "/dashboard", or "/dashboard/share/<token>". */
  base: string;
}

export interface DashEnv {
  Bindings: Env;
  Variables: {
    config: Config;
    db: Db;
    view: View;
  };
}

export type DashContext = Context<DashEnv>;

/** A page that cannot be shown: its status and why (rendered by the dashboard's error page). */
export class PageError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 410,
    message: string,
  ) {
    super(message);
  }
}
