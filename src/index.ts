/**
 * The Worker: a Hono app that mounts the routes and nothing else. The hot path is
 * src/proxy/route.ts; each step of it lives in its own file under src/proxy/.
 */
import { Hono } from "hono";
import { adminApi } from "./admin/app";
import type { Env } from "./config";
import { healthRoute } from "./health/route";

const app = new Hono<{ Bindings: Env }>();
app.route("/", healthRoute);
app.route("/admin/v1", adminApi);

export default app;
