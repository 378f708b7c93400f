/**
 * One target of a routed call, ready to go: the client's body as that target gets it — its model,
 * its output limit under the route's cap (src/routing/policy.ts), everything else byte for byte
 * (src/routing/body.ts) — with the facts, meter and include_usage rewrite of that provider.
 */
import { setTopLevelFields } from "../routing/body";
import type { Attempt } from "../routing/plan";
import { outputLimitFields, type Policy } from "../routing/policy";
import { endpointOf } from "../wire";
import { type ProxiedRequest, prepareRequest, type RequestBody } from "./request";
import type { Upstream } from "./upstream";

export interface Leg {
  target: Attempt;
  upstream: Upstream;
  request: ProxiedRequest;
  /** The cap, when it changed the body's output limit (the record says so). */
  maxTokensApplied: number | null;
}

/** The body as it goes to `target`: its model, its output limit under the cap, its facts. */
export function prepareLeg(body: RequestBody, target: Attempt, upstream: Upstream, policy: Policy): Leg {
  const fields: Record<string, unknown> = {};
  if (body.json.model !== target.model) fields.model = target.model;
  let maxTokensApplied: number | null = null;
  if (policy.maxTokensCap !== null) {
    const endpoint = endpointOf(upstream.format, body.path);
    const limits = outputLimitFields(upstream.format, endpoint, upstream.id, body.json, policy.maxTokensCap);
    if (Object.keys(limits).length > 0) maxTokensApplied = policy.maxTokensCap;
    Object.assign(fields, limits);
  }
  if (Object.keys(fields).length === 0)
    return { target, upstream, request: prepareRequest(body, upstream), maxTokensApplied };
  const json = { ...body.json, ...fields };
  const text = setTopLevelFields(body.text, fields, body.json);
  return { target, upstream, request: prepareRequest({ ...body, text, json }, upstream), maxTokensApplied };
}
