/**
 * Share links: a signed, read-only, expiring link to one tenant of an account — its spend and its
 * budgets — for our users' own customers. The link IS the credential (no account, no session):
 * a token signed with a key only the gateway has (src/lib/signed.ts, purpose "share-link"),
 * carrying the account, the tenant and the expiry. Nothing is stored, so a link cannot be revoked
 * before it expires; rotating TOLLGATE_ENCRYPTION_KEY (or the admin token, when that is the
 * sealing secret) ends every link at once.
 */
import { nowMs } from "./lib/clock";
import { randomToken } from "./lib/ids";
import { signToken, verifyToken } from "./lib/signed";

export const SHARE_LINK_DEFAULT_HOURS = 24;
export const SHARE_LINK_MAX_HOURS = 24 * 90;

export interface ShareLink {
  accountId: string;
  tenant: string;
  expiresAt: Date;
}

interface Payload {
  v: 1;
  /** Random, so two links to the same tenant differ (and a log can tell them apart). */
  id: string;
  acc: string;
  ten: string;
  exp: number;
}

/** `secret`: src/config.ts sealingSecret. */
export async function createShareLink(
  secret: string,
  link: { accountId: string; tenant: string; expiresInHours: number },
): Promise<{ token: string; expiresAt: Date }> {
  const exp = nowMs() + Math.round(link.expiresInHours * 3_600_000);
  const payload: Payload = { v: 1, id: randomToken(12), acc: link.accountId, ten: link.tenant, exp };
  return { token: await signToken(payload, secret, "share-link"), expiresAt: new Date(exp) };
}

/** The link's account and tenant, or null when the token is forged, altered or expired. */
export async function readShareLink(secret: string, token: string): Promise<ShareLink | null> {
  const p = await verifyToken<Payload>(token, secret, "share-link", nowMs());
  if (p?.v !== 1 || typeof p.acc !== "string" || typeof p.ten !== "string") return null;
  return { accountId: p.acc, tenant: p.ten, expiresAt: new Date(p.exp) };
}
