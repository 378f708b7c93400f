/**
 * Headless Chromium for the dashboard's e2e tests: Debian's /usr/bin/chromium (.ci/run installs
 * the package; nothing downloads a browser) driven by playwright-core, each browser with a fresh
 * profile folder. Every console error, uncaught page error and failed request of every page is
 * collected, so a test can assert there were none. Screenshots go to test-results/ (git-ignored).
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type BrowserContext, chromium, type Page } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";
const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const SCREENSHOTS = path.join(ROOT, "test-results", "dashboard");

const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export interface TestBrowser {
  context: BrowserContext;
  page: Page;
  /** Console errors, page errors and failed requests, as "kind: text (url)". */
  problems: string[];
  screenshot(name: string, page?: Page): Promise<string>;
  close(): Promise<void>;
}

export async function openBrowser(
  opts: { timezoneId?: string; width?: number; height?: number } = {},
): Promise<TestBrowser> {
  const profile = await mkdtemp(path.join(os.tmpdir(), "tollgate-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: opts.width ?? 1280, height: opts.height ?? 900 },
    acceptDownloads: true,
    ...(opts.timezoneId ? { timezoneId: opts.timezoneId } : {}),
  });
  const problems: string[] = [];
  const watch = (page: Page) => {
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(`console: ${m.text()} (${page.url()})`);
    });
    page.on("pageerror", (e) => problems.push(`pageerror: ${e.message} (${page.url()})`));
    page.on("requestfailed", (r) => {
      // A link that downloads (a CSV) ends its navigation as "aborted": that is the download, not a failure.
      if (r.failure()?.errorText === "net::ERR_ABORTED" && /\.csv(\?|$)/.test(new URL(r.url()).pathname + "?")) return;
      problems.push(`requestfailed: ${r.url()} ${r.failure()?.errorText ?? ""}`);
    });
    // Deletes and revokes ask first; the tests say yes.
    page.on("dialog", (d) => void d.accept());
  };
  context.on("page", watch);
  for (const p of context.pages()) watch(p);
  const page = context.pages()[0] ?? (await context.newPage());
  await mkdir(SCREENSHOTS, { recursive: true });
  return {
    context,
    page,
    problems,
    async screenshot(name, p = page) {
      const file = path.join(SCREENSHOTS, `${name}.png`);
      await p.screenshot({ path: file, fullPage: true });
      return file;
    },
    async close() {
      await context.close().catch(() => {});
      await rm(profile, { recursive: true, force: true }).catch(() => {});
    },
  };
}
