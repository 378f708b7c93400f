import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./config";

const good = {
  UPSTASH_REDIS_REST_URL: "https://eu1-x.upstash.io",
  UPSTASH_REDIS_REST_TOKEN: "tok",
  DATABASE_URL: "postgres://u:p@ep-x.neon.tech/db?sslmode=require",
  TOLLGATE_ADMIN_TOKEN: "0123456789abcdef0123",
};

describe("loadConfig", () => {
  it("accepts a production config and defaults FAIL_MODE to open", () => {
    const c = loadConfig({ ...good });
    expect(c.FAIL_MODE).toBe("open");
    expect(c.upstreamOverrides).toEqual({});
  });
  it("collects UPSTREAM_<ID>_URL overrides by lowercase provider id", () => {
    const c = loadConfig({ ...good, UPSTREAM_OPENAI_URL: "http://127.0.0.1:9000/v1/", UPSTREAM_XAI_URL: "http://x" });
    expect(c.upstreamOverrides).toEqual({ openai: "http://127.0.0.1:9000/v1", xai: "http://x" });
  });
  it("names every missing or bad variable", () => {
    const { DATABASE_URL: _, ...missing } = good;
    try {
      loadConfig({ ...missing, FAIL_MODE: "sometimes", UPSTREAM_OPENAI_URL: "ftp://x" });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      const vars = (e as ConfigError).problems.map((p) => p.variable).sort();
      expect(vars).toEqual(["DATABASE_URL", "FAIL_MODE", "UPSTREAM_OPENAI_URL"]);
      expect((e as Error).message).toMatch(/DATABASE_URL: is not set/);
    }
  });
  it("reads OpenTelemetry's exporter variables and names a bad one", () => {
    expect(loadConfig({ ...good }).otlp).toBeNull();
    const c = loadConfig({
      ...good,
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318",
      OTEL_BSP_SCHEDULE_DELAY: "200",
    });
    expect(c.otlp?.url).toBe("http://collector:4318/v1/traces");
    expect(c.OTEL_BSP_SCHEDULE_DELAY).toBe(200);
    try {
      loadConfig({ ...good, OTEL_EXPORTER_OTLP_ENDPOINT: "collector", OTEL_EXPORTER_OTLP_HEADERS: "novalue" });
      expect.unreachable();
    } catch (e) {
      const vars = [...new Set((e as ConfigError).problems.map((p) => p.variable))].sort();
      expect(vars).toEqual(["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_HEADERS"]);
    }
  });
});
