/**
 * The page shell: head (one stylesheet, one deferred script, both from this Worker), the top bar
 * with the views this viewer may open, and the content. Share links get a bar with no navigation.
 */
import type { Child } from "hono/jsx";
import { CSS_PATH, JS_PATH } from "./assets";
import type { View } from "./env";
import { formatDateTime, utcTitle } from "./format";
import { href } from "./state";

export type Section =
  | "overview"
  | "budgets"
  | "requests"
  | "billing"
  | "keys"
  | "alerts"
  | "unpriced"
  | "accounts"
  | "share";

const SECTIONS: { id: Section; path: string; label: string; adminOnly?: boolean }[] = [
  { id: "overview", path: "", label: "Overview" },
  { id: "budgets", path: "/budgets", label: "Budgets" },
  { id: "requests", path: "/requests", label: "Requests" },
  { id: "billing", path: "/billing", label: "Billing" },
  { id: "keys", path: "/keys", label: "Keys", adminOnly: true },
  { id: "alerts", path: "/alerts", label: "Alerts", adminOnly: true },
  { id: "unpriced", path: "/unpriced", label: "Unpriced models" },
];

/** Links inside a view keep the admin's account; share links and key sessions have theirs built in. */
export function viewParams(view: View | null): URLSearchParams {
  const p = new URLSearchParams();
  if (view?.kind === "admin") p.set("account", view.accountId);
  return p;
}

export function Page(props: {
  title: string;
  view: View | null;
  section?: Section;
  tz?: string;
  tzSource?: string;
  children: Child;
}) {
  const { view } = props;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width,initial-scale=1" />
        <meta name="referrer" content="same-origin" />
        <title>{`${props.title} · Tollgate`}</title>
        <link rel="icon" href="data:," />
        <link rel="stylesheet" href={CSS_PATH} />
        <script src={JS_PATH} defer />
      </head>
      <body data-tz={props.tz ?? "UTC"} data-tz-source={props.tzSource ?? "url"}>
        <header class="top">
          <span class="brand">Tollgate</span>
          {view && view.kind !== "share" ? (
            <nav aria-label="Dashboard">
              {SECTIONS.filter((s) => !(s.adminOnly && view.kind !== "admin")).map((s) => (
                <a
                  href={href(`/dashboard${s.path}`, viewParams(view))}
                  {...(s.id === props.section ? { "aria-current": "page" } : {})}
                >
                  {s.label}
                </a>
              ))}
            </nav>
          ) : (
            <nav aria-label="Dashboard" />
          )}
          {view ? (
            <span class="who">
              {view.kind === "share"
                ? `${view.accountName} · tenant ${view.tenant} · read-only link`
                : `${view.accountName}${view.kind === "key" ? " · gateway key, read-only" : " · admin"}`}
            </span>
          ) : null}
          {view && view.kind === "admin" ? <a href="/dashboard/accounts">Switch account</a> : null}
          {view?.csrf ? (
            <form method="post" action="/dashboard/logout">
              <input type="hidden" name="_csrf" value={view.csrf} />
              <button type="submit">Sign out</button>
            </form>
          ) : null}
        </header>
        <main>{props.children}</main>
      </body>
    </html>
  );
}

/** A hidden CSRF field for a form of this view. */
export function Csrf(props: { view: View }) {
  return <input type="hidden" name="_csrf" value={props.view.csrf ?? ""} />;
}

/** A hidden account field, so an admin's form posts stay in the account. */
export function AccountField(props: { view: View }) {
  return props.view.kind === "admin" ? <input type="hidden" name="account" value={props.view.accountId} /> : null;
}

/** A time in the viewer's zone with UTC on hover. */
export function Time(props: { ms: number; tz: string }) {
  return (
    <time datetime={new Date(props.ms).toISOString()} title={utcTitle(props.ms)}>
      {formatDateTime(props.ms, props.tz)}
    </time>
  );
}
