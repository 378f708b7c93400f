/**
 * A route as an operator defines it (PUT /admin/v1/accounts/{account}/routes/{name}) and as the hot
 * path reads it from the account's settings. The HTTP schema is src/http/admin/routes.ts; the
 * checks that need the account (formats, keys, defaults claimed twice) are in manage.ts.
 */

/** What makes a call move on to the route's next target. */
export const FALLBACK_ON = ["429", "5xx", "timeout", "budget"] as const;
export type FallbackOn = (typeof FALLBACK_ON)[number];

/** Without `fallbackOn`: provider errors move on, a budget refusal does not (onBudget is for that). */
export const DEFAULT_FALLBACK_ON: readonly FallbackOn[] = ["429", "5xx", "timeout"];

/** A target's model "*": the model the call asks for (the body's, else the route's defaultModel). */
export const ASKED_MODEL = "*";

export interface RouteTarget {
  provider: string;
  model: string;
  /** Share of first attempts (weighted split). Absent while others have one: 0 (a fallback only). */
  weight?: number;
}

export interface RouteConfig {
  targets: RouteTarget[];
  fallbackOn?: FallbackOn[];
  /** How long a target may take to answer with its status line before it counts as a timeout. */
  timeoutMs?: number;
  /** Where a call goes when a hard budget refuses the hold for its target's model. */
  onBudget?: { provider: string; model: string };
  cache?: { ttlSeconds: number; scope: "tenant" | "account" };
  /** The most output tokens a forwarded body may ask for (lowered or added; recorded as applied). */
  maxTokensCap?: number;
  /** The models a caller may ask for; anything else is a 403 in the provider's shape. */
  allowedModels?: string[];
  /** The model asked when the body names none. */
  defaultModel?: string;
  /** Calls of these keys / features use this route when they name none (x-tollgate-route). */
  defaultFor?: { keys?: string[]; features?: string[] };
}

/** A route in the account's settings: its config and the revision the response cache keys on. */
export interface RouteSetting extends RouteConfig {
  name: string;
  /** Changes whenever the route does (its updatedAt), so cached answers of an older route are not served. */
  rev: string;
}

/** Which route a key or a feature defaults to, precomputed when the settings are loaded. */
export interface RouteDefaults {
  keys: Record<string, string>;
  features: Record<string, string>;
}
