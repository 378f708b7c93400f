/**
 * The budget scripts answer in flat name/value lists (src/budgets/scripts.ts):
 * {'status', 'ok', 'remaining', 12, 'entries', {…}}. These read them by name, so no caller ever
 * counts positions, and a field added to a script cannot shift the others.
 */

export type Named = Record<string, unknown>;

/** A flat name/value list as an object (nested lists are left as they are). */
export function named(flat: unknown): Named {
  const out: Named = {};
  if (!Array.isArray(flat)) return out;
  for (let i = 0; i + 1 < flat.length; i += 2) out[String(flat[i])] = flat[i + 1];
  return out;
}

export const str = (r: Named, name: string): string => {
  const v = r[name];
  return v === null || v === undefined ? "" : String(v);
};

/** An integer field, exactly (nano-USD amounts stay below 2^53 in the scripts). */
export const big = (r: Named, name: string): bigint => BigInt(str(r, name) || "0");

export const num = (r: Named, name: string): number => Number(str(r, name) || "0");

/** A field holding a list of name/value lists. */
export const list = (r: Named, name: string): Named[] => {
  const v = r[name];
  return Array.isArray(v) ? v.map(named) : [];
};
