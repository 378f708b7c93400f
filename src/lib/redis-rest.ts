/**
 * The hot path's Redis: a lean client for the Upstash REST protocol, for the calls every proxied
 * request makes (admit, the settle and its record, the blocking pop of a waiting call). The
 * @upstash/redis client (src/lib/redis.ts) stays for everything else; this one exists because the
 * benchmark's profile had a third of a metered call's CPU inside the client's own machinery.
 *
 * Like the client's auto-pipeline, commands issued in the same tick go out as ONE `POST /pipeline`
 * (so a settle and its record cost one round trip); replies are plain JSON (no base64), one
 * {result} or {error} per command, in order. One instance per request: a shared one would mix two
 * requests' commands in one fetch, which Workers refuse.
 *
 * It has the three methods the budget scripts need with @upstash/redis's own signatures (evalsha,
 * eval, exec), so src/lib/redis.ts runScript and src/budgets take either client.
 */
import type { Config } from "../config";

type Arg = string | number;
type Pending = { args: Arg[]; resolve: (v: unknown) => void; reject: (e: unknown) => void };

export class RedisReplyError extends Error {}

export class RedisRest {
  private queue: Pending[] = [];
  private readonly url: string;
  private readonly auth: string;

  constructor(config: Pick<Config, "UPSTASH_REDIS_REST_URL" | "UPSTASH_REDIS_REST_TOKEN">) {
    this.url = `${config.UPSTASH_REDIS_REST_URL.replace(/\/+$/, "")}/pipeline`;
    this.auth = `Bearer ${config.UPSTASH_REDIS_REST_TOKEN}`;
  }

  /** One command; joins whatever else is issued in this tick. */
  exec<T = unknown>(args: Arg[]): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.queue.length === 0) queueMicrotask(() => void this.flush());
      this.queue.push({ args, resolve: resolve as (v: unknown) => void, reject });
    });
  }

  evalsha<T = unknown>(sha1: string, keys: string[], args: Arg[]): Promise<T> {
    return this.exec<T>(["EVALSHA", sha1, keys.length, ...keys, ...args]);
  }

  eval<T = unknown>(source: string, keys: string[], args: Arg[]): Promise<T> {
    return this.exec<T>(["EVAL", source, keys.length, ...keys, ...args]);
  }

  private async flush(): Promise<void> {
    const batch = this.queue;
    this.queue = [];
    try {
      const res = await fetch(this.url, {
        method: "POST",
        headers: { authorization: this.auth, "content-type": "application/json" },
        body: JSON.stringify(batch.map((p) => p.args)),
      });
      if (!res.ok) {
        const text = await res.text();
        throw new RedisReplyError(`Upstash answered ${res.status}: ${text.slice(0, 200)}`);
      }
      const replies = (await res.json()) as ({ result?: unknown; error?: string } | null)[];
      batch.forEach((p, i) => {
        const r = replies[i];
        if (r && typeof r.error === "string") p.reject(new RedisReplyError(r.error));
        else p.resolve(r?.result ?? null);
      });
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
  }
}
