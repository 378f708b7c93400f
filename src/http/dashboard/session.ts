/**
 * Dashboard sessions: a cookie holding a signed, expiring payload (src/lib/signed.ts, purpose
 * "dashboard-session", keyed from src/config.ts sealingSecret) — HttpOnly, SameSite=Strict,
 * Secure except on loopback over plain http (`npm run dev`), `__Host-` prefixed whenever Secure.
 * Nothing is stored server-side; what keeps a session honest is checked on every request:
 * - an admin session carries a fingerprint of the admin token, so rotating the token ends it;
 * - a key session names its key, which must still exist and not be revoked (auth.tsx).
 * Every form POST carries the session's CSRF token (a random value inside the signed payload);
 * the sign-in form, which has no session yet, carries a nonce from a short-lived cookie of its own.
 */
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { sealingSecret } from "../../config";
import { nowMs } from "../../lib/clock";
import { sha256Hex } from "../../lib/crypto";
import { randomToken } from "../../lib/ids";
import { signToken, verifyToken } from "../../lib/signed";
import type { DashEnv } from "./env";

export const SESSION_HOURS = 12;
const LOGIN_NONCE_MINUTES = 60;

export interface Session {
  v: 1;
  kind: "admin" | "key";
  /** key sessions: the account and the key. */
  acc?: string;
  key?: string;
  /** admin sessions: the first 16 hex of SHA-256(admin token). */
  adm?: string;
  csrf: string;
  exp: number;
}

type C = Context<DashEnv>;

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);

/** Secure cookies everywhere but plain http on this machine (a browser drops them there). */
export function secureCookies(c: C): boolean {
  const url = new URL(c.req.url);
  return !(url.protocol === "http:" && (LOOPBACK.has(url.hostname) || url.hostname.endsWith(".localhost")));
}

const cookieName = (c: C, name: string) => (secureCookies(c) ? `__Host-${name}` : name);

function cookieOptions(c: C, maxAgeSeconds: number) {
  return {
    path: "/",
    httpOnly: true,
    secure: secureCookies(c),
    sameSite: "Strict" as const,
    maxAge: maxAgeSeconds,
  };
}

export const adminFingerprint = async (adminToken: string) =>
  (await sha256Hex(`tollgate/admin/${adminToken}`)).slice(0, 16);

export async function startSession(c: C, who: Pick<Session, "kind" | "acc" | "key">): Promise<void> {
  const config = c.var.config;
  const session: Session = {
    v: 1,
    ...who,
    ...(who.kind === "admin" ? { adm: await adminFingerprint(config.TOLLGATE_ADMIN_TOKEN) } : {}),
    csrf: randomToken(32),
    exp: nowMs() + SESSION_HOURS * 3_600_000,
  };
  const token = await signToken(session, sealingSecret(config), "dashboard-session");
  setCookie(c, cookieName(c, "tg_session"), token, cookieOptions(c, SESSION_HOURS * 3600));
}

/** The session, or null when there is none or it is forged, altered, expired or of a rotated admin token. */
export async function readSession(c: C): Promise<Session | null> {
  const token = getCookie(c, cookieName(c, "tg_session"));
  if (!token) return null;
  const config = c.var.config;
  const s = await verifyToken<Session>(token, sealingSecret(config), "dashboard-session", nowMs());
  if (s?.v !== 1 || typeof s.csrf !== "string") return null;
  if (s.kind === "admin") return s.adm === (await adminFingerprint(config.TOLLGATE_ADMIN_TOKEN)) ? s : null;
  if (s.kind === "key") return typeof s.acc === "string" && typeof s.key === "string" ? s : null;
  return null;
}

export function endSession(c: C): void {
  deleteCookie(c, cookieName(c, "tg_session"), { path: "/", secure: secureCookies(c) });
}

/** The sign-in form's nonce: a random cookie the form must repeat (login CSRF). */
export async function loginNonce(c: C): Promise<string> {
  const nonce = randomToken(24);
  const token = await signToken(
    { n: nonce, exp: nowMs() + LOGIN_NONCE_MINUTES * 60_000 } as never,
    sealingSecret(c.var.config),
    "dashboard-login",
  );
  setCookie(c, cookieName(c, "tg_login"), token, cookieOptions(c, LOGIN_NONCE_MINUTES * 60));
  return nonce;
}

export async function checkLoginNonce(c: C, nonce: string): Promise<boolean> {
  const token = getCookie(c, cookieName(c, "tg_login"));
  if (!token || !nonce) return false;
  const p = await verifyToken<{ n: string; exp: number }>(
    token,
    sealingSecret(c.var.config),
    "dashboard-login",
    nowMs(),
  );
  return p !== null && sameText(p.n, nonce);
}

export function clearLoginNonce(c: C): void {
  deleteCookie(c, cookieName(c, "tg_login"), { path: "/", secure: secureCookies(c) });
}

/** Constant-time comparison of two short strings. */
export function sameText(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/**
 * A POST from a page of this gateway: when the browser says where it comes from (Origin, or
 * Sec-Fetch-Site), it must be here. SameSite=Strict already keeps the cookie off cross-site
 * requests; this refuses them before any form field is read.
 */
export function sameOrigin(c: C): boolean {
  const origin = c.req.header("origin");
  if (origin && origin !== "null" && origin !== new URL(c.req.url).origin) return false;
  if (origin === "null") return false;
  const site = c.req.header("sec-fetch-site");
  return !site || site === "same-origin" || site === "none";
}

/** The viewer's zone, as the browser told it at sign-in or on a share page (a preference, not a secret). */
export function zoneCookie(c: C): string | undefined {
  return getCookie(c, "tg_tz");
}

export function setZoneCookie(c: C, tz: string): void {
  setCookie(c, "tg_tz", tz, { path: "/", secure: secureCookies(c), sameSite: "Strict", maxAge: 365 * 86_400 });
}
