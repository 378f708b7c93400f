/**
 * Which route a call takes: the one it names in x-tollgate-route, else its feature's default route,
 * else its key's. A key's default route is also the key's policy: a call that names another route
 * still gets the key route's allowedModels and maxTokensCap (the feature's is only a default: the
 * client chooses its feature header, so it cannot be a limit).
 *
 * The account's settings carry no `routes` at all until it defines one, so a call of an account
 * without routes pays two property reads here and nothing else.
 */
import type { AccountSettings } from "../account-settings";
import { GatewayError } from "../lib/errors";
import type { RouteSetting } from "./types";

export const ROUTE_HEADER = "x-tollgate-route";

export interface SelectedRoute {
  route: RouteSetting;
  /** The routes whose policy applies: the selected one first, then the key's own when it differs. */
  policies: RouteSetting[];
}

export function selectRoute(
  settings: AccountSettings,
  named: string | null,
  keyId: string,
  feature: string | null,
): SelectedRoute | null {
  const routes = settings.routes;
  if (!routes) {
    if (named) throw unknownRoute(named);
    return null;
  }
  const keyRoute = settings.routeDefaults?.keys[keyId];
  const name = named || (feature ? settings.routeDefaults?.features[feature] : undefined) || keyRoute;
  if (!name) return null;
  const route = Object.hasOwn(routes, name) ? routes[name] : undefined;
  if (!route) throw unknownRoute(name);
  const policies = [route];
  if (keyRoute && keyRoute !== name && Object.hasOwn(routes, keyRoute)) policies.push(routes[keyRoute]!);
  return { route, policies };
}

const unknownRoute = (name: string) =>
  new GatewayError(
    "invalid_request",
    `This account has no route named "${name}" (${ROUTE_HEADER}). Define it with PUT /admin/v1/accounts/{account}/routes/${name}.`,
  );
