/** Random ids: a short type prefix and 20 base-62 characters (~119 bits). */
const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/**
 * CSPRNG bytes drawn 1 KiB at a time and each used once: one runtime call per ~50 ids instead of one
 * per id (every proxied call draws a request id; the call into the runtime cost more than the id).
 */
const pool = new Uint8Array(1024);
let poolAt = pool.length;

export function randomToken(length: number): string {
  let out = "";
  for (let i = 0; i < length; i++) {
    if (poolAt === pool.length) {
      crypto.getRandomValues(pool);
      poolAt = 0;
    }
    // 62 does not divide 256; the bias (<0.4 %) is harmless for identifiers, and keys use 32 chars.
    out += ALPHABET[pool[poolAt++]! % 62];
  }
  return out;
}

export function newId(prefix: "acc" | "key" | "bud" | "alr" | "req" | "rec" | "anm" | "grt" | "pln" | "inv"): string {
  return `${prefix}_${randomToken(20)}`;
}

/** A gateway key: `tg_` and 40 characters. Shown once; only its SHA-256 is stored. */
export function newGatewayKey(): string {
  return `tg_${randomToken(40)}`;
}
