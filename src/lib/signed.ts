/**
 * Signed, expiring tokens: `<payload>.<signature>`, both base64url, the signature HMAC-SHA256 of
 * the payload text under a key derived (HKDF) from a Worker secret AND a purpose. A token made for
 * one purpose (a dashboard session) never verifies as another (a share link), and none of these
 * keys is the one that seals stored credentials (src/lib/crypto.ts), though all come from one secret.
 * Signed, not encrypted: put nothing secret in a payload.
 */
export type TokenPurpose = "dashboard-session" | "dashboard-login" | "share-link";

const encoder = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string, purpose: TokenPurpose): Promise<CryptoKey> {
  const id = `${purpose}\u0000${secret}`;
  let key = keys.get(id);
  if (!key) {
    key = crypto.subtle
      .importKey("raw", encoder.encode(secret), "HKDF", false, ["deriveKey"])
      .then((material) =>
        crypto.subtle.deriveKey(
          { name: "HKDF", hash: "SHA-256", salt: encoder.encode("tollgate/signed/v1"), info: encoder.encode(purpose) },
          material,
          { name: "HMAC", hash: "SHA-256", length: 256 },
          false,
          ["sign", "verify"],
        ),
      );
    if (keys.size > 16) keys.clear();
    keys.set(id, key);
  }
  return key;
}

function b64url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Only the canonical spelling: the last character's spare bits must be zero, so one token has one text. */
function fromB64url(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
  try {
    const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4)), (c) => c.charCodeAt(0));
    return b64url(bytes) === text ? bytes : null;
  } catch {
    return null;
  }
}

/** Every payload expires: `exp` is ms since the epoch by the gateway's clock (src/lib/clock.ts). */
export interface Expiring {
  exp: number;
}

export async function signToken(payload: Expiring, secret: string, purpose: TokenPurpose): Promise<string> {
  const body = b64url(encoder.encode(JSON.stringify(payload)));
  const mac = await crypto.subtle.sign("HMAC", await hmacKey(secret, purpose), encoder.encode(body));
  return `${body}.${b64url(new Uint8Array(mac))}`;
}

/**
 * The payload, or null when the token is malformed, signed with another key or purpose, or expired
 * at `nowMs`. crypto.subtle.verify compares in constant time.
 */
export async function verifyToken<T extends Expiring>(
  token: string,
  secret: string,
  purpose: TokenPurpose,
  nowMs: number,
): Promise<T | null> {
  if (token.length > 4096) return null;
  const [body, sig, extra] = token.split(".");
  if (!body || !sig || extra !== undefined) return null;
  const mac = fromB64url(sig);
  const bytes = fromB64url(body);
  if (!mac || !bytes) return null;
  const ok = await crypto.subtle.verify("HMAC", await hmacKey(secret, purpose), mac, encoder.encode(body));
  if (!ok) return null;
  let payload: unknown;
  try {
    payload = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return null;
  }
  const exp = (payload as Partial<Expiring> | null)?.exp;
  if (typeof exp !== "number" || !(exp > nowMs)) return null;
  return payload as T;
}
