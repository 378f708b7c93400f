/**
 * The Worker: a Hono app that mounts the routes and nothing else. The hot path is
 * src/proxy/route.ts; each step of it lives in its own file under src/proxy/.
 */
import { Hono } from "hono";
import { adminApi } from "./admin/app";
import { mountOpenApi } from "./api/openapi";
import { v1Api } from "./api/v1";
import type { Env } from "./config";
import { healthRoute } from "./health/route";
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
