/** Random ids: a short type prefix and 20 base-62 characters (~119 bits). */
const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

export function randomToken(length: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  let out = "";
  // 62 does not divide 256; the bias (<0.4 %) is harmless for identifiers, and keys use 32 chars.
  for (const b of bytes) out += ALPHABET[b % 62];
  return out;
}

export function newId(prefix: "acc" | "key" | "bud" | "alr" | "req" | "rec" | "anm" | "grt" | "pln" | "inv"): string {
  return `${prefix}_${randomToken(20)}`;
}

/** A gateway key: `tg_` and 40 characters. Shown once; only its SHA-256 is stored. */
export function newGatewayKey(): string {
  return `tg_${randomToken(40)}`;
}
