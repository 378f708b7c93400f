/**
 * The order in which a call tries a route's targets. With weights, the first attempt goes to a
 * target picked in proportion to its weight (the A/B split, visible in reports by route and model);
 * the others follow in the order they are listed, as fallbacks. Without weights: the listed order.
 */
import { ASKED_MODEL, type RouteTarget } from "./types";

export interface Attempt {
  provider: string;
  model: string;
}

/** `provider/model`, as the attempts header and the records name a target. */
export const targetLabel = (t: Attempt) => `${t.provider}/${t.model}`;

/** `random` in [0, 1); the caller passes Math.random (tests pass their own). */
export function planChain(targets: readonly RouteTarget[], askedModel: string | null, random: () => number): Attempt[] {
  const resolved = targets.map((t) => ({
    provider: t.provider,
    model: t.model === ASKED_MODEL ? (askedModel ?? "") : t.model,
    weight: t.weight ?? 0,
  }));
  const total = resolved.reduce((s, t) => s + t.weight, 0);
  let first = 0;
  if (total > 0) {
    let x = random() * total;
    first = resolved.findIndex((t) => {
      x -= t.weight;
      return t.weight > 0 && x < 0;
    });
    if (first < 0) first = resolved.findLastIndex((t) => t.weight > 0);
  }
  const order = [resolved[first]!, ...resolved.filter((_, i) => i !== first)];
  return order.map(({ provider, model }) => ({ provider, model }));
}
