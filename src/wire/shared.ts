/** Small helpers the wire formats share. Nothing here knows a provider. */

export type Json = Record<string, unknown>;

export function isObj(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A finite, non-negative count, or null for anything else (null, missing, a string, NaN). */
export function num(v: unknown): number | null {
  return typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : null;
}

export function obj(v: unknown): Json | null {
  return isObj(v) ? v : null;
}

export function str(v: unknown): string | null {
  return typeof v === "string" && v !== "" ? v : null;
}

/**
 * docs/wire-formats.md §1.1, "replace, never add": overlay `src` on `into`, field by field, recursing
 * into objects. A null or missing field never overwrites a value; a later value always does.
 * Arrays are replaced whole.
 */
export function overlay(into: Json, src: Json): Json {
  for (const key of Object.keys(src)) {
    const v = src[key];
    if (v === null || v === undefined) continue;
    if (isObj(v)) {
      const cur = into[key];
      into[key] = overlay(isObj(cur) ? cur : {}, v);
    } else {
      into[key] = v;
    }
  }
  return into;
}

/** USD (a float on the wire) → integer nano-USD. Rounded once, here, at the edge. */
export function usdToNano(usd: number): number {
  return Math.round(usd * 1e9);
}

/** a − b − …, never below zero; records a warning when the parts exceed the whole. */
export function remainder(whole: number, parts: number[], warnings: string[], what: string): number {
  let r = whole;
  for (const p of parts) r -= p;
  if (r < 0) {
    warnings.push(`${what}: parts exceed the reported total by ${-r}`);
    return 0;
  }
  return r;
}

/** `"model":"…"` read straight from JSON text, without parsing it (ids hold no escapes). */
export function stringField(text: string, key: string, from = 0): string | null {
  const marker = `"${key}":`;
  const at = text.indexOf(marker, from);
  if (at === -1) return null;
  let i = at + marker.length;
  while (text.charCodeAt(i) === 32) i++;
  if (text.charCodeAt(i) !== 34) return null;
  const end = text.indexOf('"', i + 1);
  if (end === -1) return null;
  const value = text.slice(i + 1, end);
  return value.includes("\\") ? null : value;
}
