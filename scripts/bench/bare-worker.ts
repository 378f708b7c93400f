/**
 * The bare pass-through Worker: what any Hono Worker in front of the provider costs, with no
 * metering. ANY /proxy/:provider/* → UPSTREAM_URL + the rest of the path (query kept), headers
 * and body passed as they are, the response streamed back as it arrives. Bundled and run on
 * workerd exactly like Tollgate.
 *
 * One probe route the benchmark uses to time the Redis round trip from inside workerd:
 * POST /__bench/rtt {url, token, body, batches, size} → `batches` × `size` sequential POSTs of
 * `body` to the Upstash REST endpoint, answered with each batch's mean round trip in ms (workerd's
 * clock is coarsened to 1 ms and only moves across I/O, so single calls cannot be timed).
 */
import { Hono } from "hono";

interface Env {
  UPSTREAM_URL: string;
}

const app = new Hono<{ Bindings: Env }>();

app.post("/__bench/rtt", async (c) => {
  const p = await c.req.json<{ url: string; token: string; body: string; batches: number; size: number }>();
  const call = async () => {
    const res = await fetch(p.url, {
      method: "POST",
      headers: { authorization: `Bearer ${p.token}`, "content-type": "application/json", "upstash-encoding": "base64" },
      body: p.body,
    });
    await res.arrayBuffer();
  };
  await call(); // opens the connection
  const means: number[] = [];
  for (let b = 0; b < p.batches; b++) {
    const t0 = Date.now();
    for (let i = 0; i < p.size; i++) await call();
    means.push((Date.now() - t0) / p.size);
  }
  return c.json({ means });
});

app.all("/proxy/:provider/*", async (c) => {
  const req = c.req.raw;
  const url = new URL(req.url);
  const rest = url.pathname.slice(`/proxy/${c.req.param("provider")}`.length);
  const headers = new Headers(req.headers);
  headers.delete("host");
  const res = await fetch(c.env.UPSTREAM_URL + rest + url.search, {
    method: req.method,
    headers,
    body: req.body,
    redirect: "manual",
  });
  return new Response(res.body, { status: res.status, headers: res.headers });
});

export default app;
