/**
 * The Worker: a Hono app that mounts the routes and nothing else (a plain /proxy/{provider}/… call
 * is handed to its handler before the router, see src/proxy/route.ts plainProxyPath).
 *
 *   /proxy/{provider}/…     the hot path: src/proxy/route.ts, one file per step under src/proxy/
 *   /v1/…                   gateway-key API: src/http/v1/index.ts
 *   /admin/v1/…             admin API: src/http/admin/index.ts
 *   /health                 src/http/health.ts
 *   /openapi.json, /docs    src/http/openapi.ts, generated from the /v1 and /admin/v1 apps
 *   /dashboard/…            the browser UI: src/http/dashboard/index.tsx
 *
 * src/http/README.md says what lives where in src/http/; the cron trigger is src/scheduled.ts.
 */
import { Hono } from "hono";
import type { Env } from "./config";
import { adminApi } from "./http/admin";
import { dashboard } from "./http/dashboard";
import { healthRoute } from "./http/health";
import { mountOpenApi } from "./http/openapi";
import { v1Api } from "./http/v1";
import { applyClockOffset } from "./lib/clock";
import { handleProxy, plainProxyPath, proxyRoute } from "./proxy/route";
import { scheduled } from "./scheduled";

const app = new Hono<{ Bindings: Env }>();
app.route("/", healthRoute);
app.route("/", proxyRoute);
const documented = [
  { path: "/admin/v1", api: adminApi },
  { path: "/v1", api: v1Api },
];
for (const { path, api } of documented) app.route(path, api);
mountOpenApi(app, documented);
app.route("/", dashboard);

export default {
  fetch(request, env, ctx) {
    applyClockOffset(env);
    // The hot path skips the router: a plain /proxy/{provider}/… call goes straight to its handler.
    const proxied = plainProxyPath(new URL(request.url));
    if (proxied) return handleProxy(request, env, ctx, proxied);
    return app.fetch(request, env, ctx);
  },
  scheduled(event, env, ctx) {
    applyClockOffset(env);
    return scheduled(event, env, ctx);
  },
} satisfies ExportedHandler<Env>;
