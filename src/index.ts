/**
 * The Worker: a Hono app that mounts the routes and nothing else. The hot path is
 * src/proxy/route.ts; each step of it lives in its own file under src/proxy/. Every other route
 * lives in src/http/: /v1 (src/http/v1/index.ts), /admin/v1 (src/http/admin/index.ts), /health,
 * /openapi.json and /docs.
 */
import { Hono } from "hono";
import type { Env } from "./config";
import { adminApi } from "./http/admin";
import { healthRoute } from "./http/health";
import { mountOpenApi } from "./http/openapi";
import { v1Api } from "./http/v1";
import { applyClockOffset } from "./lib/clock";
import { proxyRoute } from "./proxy/route";
import { scheduled } from "./scheduled";

const app = new Hono<{ Bindings: Env }>();
app.route("/", healthRoute);
app.route("/", proxyRoute);
app.route("/admin/v1", adminApi);
app.route("/v1", v1Api);
mountOpenApi(app, [
  { path: "/admin/v1", api: adminApi },
  { path: "/v1", api: v1Api },
]);

export default {
  fetch(request, env, ctx) {
    applyClockOffset(env);
    return app.fetch(request, env, ctx);
  },
  scheduled(event, env, ctx) {
    applyClockOffset(env);
    return scheduled(event, env, ctx);
  },
} satisfies ExportedHandler<Env>;
