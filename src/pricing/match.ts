import type { MatchLogic } from "./types";

const regexCache = new Map<string, RegExp>();

function regex(source: string): RegExp {
  let re = regexCache.get(source);
  if (!re) {
    re = new RegExp(source);
    regexCache.set(source, re);
  }
  return re;
}

/**
 * genai-prices' match logic. `name` must already be lower-cased and trimmed; the catalog's string
 * operands are lower-cased at build time (genai-prices lower-cases both sides at every comparison),
 * and a regex is tested against the lower-cased name, as genai-prices does.
 */
export function matches(logic: MatchLogic, name: string): boolean {
  if ("or" in logic) return logic.or.some((m) => matches(m, name));
  if ("and" in logic) return logic.and.every((m) => matches(m, name));
  if ("equals" in logic) return name === logic.equals;
  if ("starts_with" in logic) return name.startsWith(logic.starts_with);
  if ("ends_with" in logic) return name.endsWith(logic.ends_with);
  if ("contains" in logic) return name.includes(logic.contains);
  if ("regex" in logic) return regex(logic.regex).test(name);
  return false;
}

/** Lower-cases every string operand except regexes (build time). */
export function normalizeMatch(logic: MatchLogic): MatchLogic {
  if ("or" in logic) return { or: logic.or.map(normalizeMatch) };
  if ("and" in logic) return { and: logic.and.map(normalizeMatch) };
  if ("equals" in logic) return { equals: logic.equals.toLowerCase() };
  if ("starts_with" in logic) return { starts_with: logic.starts_with.toLowerCase() };
  if ("ends_with" in logic) return { ends_with: logic.ends_with.toLowerCase() };
  if ("contains" in logic) return { contains: logic.contains.toLowerCase() };
  if ("regex" in logic) return { regex: logic.regex };
  throw new Error(`unknown match logic: ${JSON.stringify(logic)}`);
}
