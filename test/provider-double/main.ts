/**
 * Runs the provider double on its own: `npx tsx test/provider-double/main.ts [--port 9100] [--host 127.0.0.1]`
 * (or PORT / HOST in the environment). Try Tollgate without a provider account.
 */
import { startProviderDouble, upstreamUrls } from "./server";

function arg(name: string): string | undefined {
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === `--${name}`) return argv[i + 1];
    if (a.startsWith(`--${name}=`)) return a.slice(name.length + 3);
  }
  return undefined;
}

const port = Number(arg("port") ?? process.env.PORT ?? 9100);
const host = arg("host") ?? process.env.HOST ?? "127.0.0.1";
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`provider double: bad port ${port}`);
  process.exit(2);
}

const double = await startProviderDouble({ port, host, maxRecorded: Number(process.env.DOUBLE_MAX_RECORDED ?? 1000) });
const env = upstreamUrls(double.url);
console.log(`provider double listening on ${double.url}

Point Tollgate at it (any non-empty provider key works; tg_ keys are refused, as a real provider would):
${Object.entries(env)
  .map(([k, v]) => `  ${k}=${v}`)
  .join("\n")}

Or call it directly:
  curl ${double.url}/openai/v1/chat/completions -H 'authorization: Bearer sk-test' \\
    -H 'content-type: application/json' -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}'

Control headers: x-double-usage, x-double-chunks, x-double-output-tokens, x-double-delay-ms,
x-double-chunk-delay-ms, x-double-status, x-double-break-after, x-double-error-after, x-double-model,
x-double-split (see test/provider-double/README.md). Requests received: GET ${double.url}/__double/requests`);

let closing = false;
const stop = () => {
  if (closing) return;
  closing = true;
  double.close().then(() => process.exit(0));
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
