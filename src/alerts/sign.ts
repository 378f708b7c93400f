import { nowMs } from "../lib/clock";

/**
 * Webhook signatures: HMAC-SHA256 over `${timestamp}.${body}` with the channel's secret, sent as
 *
 *   x-tollgate-signature: t=<unix seconds>,v1=<hex digest>
 *
 * A receiver recomputes the digest over the raw body, compares in constant time, and rejects
 * timestamps older than a few minutes (replays). See verifyWebhook, and the README snippet.
 */
const encoder = new TextEncoder();

async function hmacHex(secret: string, message: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(message));
  return [...new Uint8Array(mac)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export const SIGNATURE_HEADER = "x-tollgate-signature";

export async function signWebhook(secret: string, body: string, timestampSeconds: number): Promise<string> {
  return `t=${timestampSeconds},v1=${await hmacHex(secret, `${timestampSeconds}.${body}`)}`;
}

/** true when `header` signs `body` with `secret` and is at most `toleranceSeconds` old. */
export async function verifyWebhook(
  secret: string,
  body: string,
  header: string | null,
  nowSeconds: number = Math.floor(nowMs() / 1000),
  toleranceSeconds = 300,
): Promise<boolean> {
  const parts = Object.fromEntries((header ?? "").split(",").map((p) => p.trim().split("=", 2) as [string, string]));
  const t = Number(parts.t);
  if (!Number.isInteger(t) || !parts.v1 || Math.abs(nowSeconds - t) > toleranceSeconds) return false;
  const expected = await hmacHex(secret, `${t}.${body}`);
  if (expected.length !== parts.v1.length) return false;
  let diff = 0;
  for (let i = 0; i < expected.length; i++) diff |= expected.charCodeAt(i) ^ parts.v1.charCodeAt(i);
  return diff === 0;
}
