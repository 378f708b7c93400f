/**
 * Edits of a request body's top-level fields (model, the output limit) on its TEXT, so everything
 * else the client sent stays byte for byte what it was — as src/wire/openai/request.ts does for
 * stream_options: re-serialising would round integers above 2^53 (a `seed`), reorder nothing but
 * lose spacing, and drop duplicate keys. A duplicated key is set everywhere it occurs (JSON.parse
 * keeps the last one; the provider may keep either).
 */

/** Where each top-level member's value sits in the text: [start, end) per occurrence of `key`. */
function valueSpans(text: string, key: string): [number, number][] | null {
  let i = skipWs(text, 0);
  if (text[i] !== "{") return null;
  i = skipWs(text, i + 1);
  const spans: [number, number][] = [];
  if (text[i] === "}") return spans;
  for (;;) {
    if (text[i] !== '"') return null;
    const keyEnd = stringEnd(text, i);
    if (keyEnd < 0) return null;
    const raw = text.slice(i + 1, keyEnd - 1);
    const name = raw.includes("\\") ? (JSON.parse(`"${raw}"`) as string) : raw;
    i = skipWs(text, keyEnd);
    if (text[i] !== ":") return null;
    const start = skipWs(text, i + 1);
    const end = valueEnd(text, start);
    if (end < 0) return null;
    if (name === key) spans.push([start, end]);
    i = skipWs(text, end);
    if (text[i] === "}") return spans;
    if (text[i] !== ",") return null;
    i = skipWs(text, i + 1);
  }
}

function skipWs(text: string, i: number): number {
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 10 && c !== 13) break;
    i++;
  }
  return i;
}

/** The index after the closing quote of the string that opens at `i`; -1 if unterminated. */
function stringEnd(text: string, i: number): number {
  for (let j = i + 1; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (c === 92 /* \ */) j++;
    else if (c === 34 /* " */) return j + 1;
  }
  return -1;
}

/** The index after the JSON value that starts at `i`; -1 if it does not end. */
function valueEnd(text: string, i: number): number {
  const c = text[i];
  if (c === '"') return stringEnd(text, i);
  if (c === "{" || c === "[") {
    let depth = 0;
    for (let j = i; j < text.length; j++) {
      const d = text[j];
      if (d === '"') {
        j = stringEnd(text, j) - 1;
        if (j < 0) return -1;
      } else if (d === "{" || d === "[") depth++;
      else if (d === "}" || d === "]") {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
    return -1;
  }
  let j = i;
  while (j < text.length && !/[\s,}\]]/.test(text[j]!)) j++;
  return j === i ? -1 : j;
}

/**
 * The body text with each of `fields` set at the top level (replaced where it is, else added after
 * the opening brace). `fallback` is the parsed body: used, re-serialised, only for text this
 * scanner cannot follow (which JSON.parse accepted, so never in practice).
 */
export function setTopLevelFields(text: string, fields: Record<string, unknown>, fallback: object): string {
  let out = text;
  for (const [key, value] of Object.entries(fields)) {
    const json = JSON.stringify(value);
    const spans = valueSpans(out, key);
    if (spans === null) return JSON.stringify({ ...fallback, ...fields });
    if (spans.length === 0) {
      const brace = out.indexOf("{");
      const empty = out[skipWs(out, brace + 1)] === "}";
      out = `${out.slice(0, brace + 1)}${JSON.stringify(key)}:${json}${empty ? "" : ","}${out.slice(brace + 1)}`;
      continue;
    }
    for (const [start, end] of spans.reverse()) out = `${out.slice(0, start)}${json}${out.slice(end)}`;
  }
  return out;
}
