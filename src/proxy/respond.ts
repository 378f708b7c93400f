/**
 * Steps 5–6 for one upstream answer: the client's response, with the bytes metered on their way
 * (tally.ts) and the after-response work (finish.ts) handed to waitUntil.
 *
 * The cost goes back to the caller where it is known before the headers: a JSON body read whole is
 * metered before the response starts anyway (tally.ts), so pricing it then only moves the pricing
 * the record needs earlier — it is done once, and `x-tollgate-cost-usd` costs a header. A stream's
 * cost is known only after its last byte: with `x-tollgate-include-cost: 1` it is written as a
 * last SSE comment line (`: x-tollgate-cost-usd=0.001046`), which SSE clients skip.
 */
import { nanoToUsd } from "../lib/money";
import { type CallContext, type FinishDeps, finishCall, priceOf } from "./finish";
import { clientHeaders, headersInit } from "./forward";
import type { PricedCall } from "./price";
import { type Capture, readWhole, type TallyResult, tallyStream, tallyWhole } from "./tally";

export const COST_HEADER = "x-tollgate-cost-usd";
export const INCLUDE_COST_HEADER = "x-tollgate-include-cost";

export interface RespondOptions {
  /** Set on the client's response besides the provider's (route, attempts, cache…). */
  headers?: Record<string, string>;
  /** The client sent x-tollgate-include-cost: 1. */
  includeCost: boolean;
  /** Keep a copy of the client's body (a routed cache miss). */
  capture?: Capture;
}

/** The SSE comment line that carries a stream's cost (`: x-tollgate-cost-usd=0.001046`); SDKs skip comments. */
export function costComment(value: string): Uint8Array {
  return new TextEncoder().encode(`: ${COST_HEADER}=${value}\n\n`);
}

/** The cost line of a metered stream: its price, "unpriced", or marked estimated for a cut-off one. */
function costLine(price: PricedCall, tally: TallyResult): Uint8Array {
  const value = !tally.usage ? "0.00" : price.priced ? nanoToUsd(price.costNano) : "unpriced";
  return costComment(tally.usageSource === "estimated" ? `${value} (estimated)` : value);
}

export async function respond(
  ctx: Pick<ExecutionContext, "waitUntil">,
  call: CallContext,
  deps: FinishDeps,
  upstreamRes: Response,
  opts: RespondOptions,
): Promise<Response> {
  const { request } = call;
  const status = upstreamRes.status;
  const streamed = (upstreamRes.headers.get("content-type") ?? "").includes("text/event-stream");
  const trailer = opts.includeCost && streamed && request.metered;
  const out = clientHeaders(upstreamRes.headers, { bodyChanged: request.injectedIncludeUsage || trailer });
  const headers = out.fields;
  headers["x-tollgate-request-id"] = call.requestId;
  Object.assign(headers, call.admission.responseHeaders, opts.headers);
  if (!upstreamRes.body || !request.metered) {
    // Nothing to meter (a models list, a file, an empty body): pass the body through, no tee.
    ctx.waitUntil(finishCall(call, deps, { status, tally: null }));
    return new Response(upstreamRes.body, { status, headers: headersInit(out) });
  }
  const meter = request.meter(streamed);
  if (readWhole(upstreamRes.headers, streamed)) {
    const { body, tally } = await tallyWhole(upstreamRes, meter, call.startedAt);
    const price = priceOf(call, tally);
    if (tally.usage && price.priced) headers[COST_HEADER] = nanoToUsd(price.costNano);
    if (opts.capture && body) opts.capture.append(new Uint8Array(body));
    ctx.waitUntil(
      finishCall(call, deps, { status, tally, streamed, price, ...(opts.capture ? { body: opts.capture } : {}) }),
    );
    return new Response(body, { status, headers: headersInit(out) });
  }
  let price: PricedCall | undefined;
  const { clientBody, done } = tallyStream(upstreamRes.body, meter, {
    startedAt: call.startedAt,
    ...(streamed && request.injectedIncludeUsage ? { stripper: request.stripUsageChunk() } : {}),
    ...(trailer
      ? {
          trailer: (tally: TallyResult) => {
            price = priceOf(call, tally);
            return costLine(price, tally);
          },
        }
      : {}),
    ...(opts.capture ? { capture: opts.capture } : {}),
  });
  ctx.waitUntil(
    done.then((tally) =>
      finishCall(call, deps, {
        status,
        tally,
        streamed,
        ...(price ? { price } : {}),
        ...(opts.capture ? { body: opts.capture } : {}),
      }),
    ),
  );
  return new Response(clientBody, { status, headers: headersInit(out) });
}
