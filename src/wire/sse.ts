/**
 * Server-sent events, read cheaply. The scanner turns bytes into events (event name + data) and
 * nothing more; what to do with an event is the wire format's business, and the formats look at
 * an event's data with String.indexOf before deciding to JSON.parse it (almost never).
 *
 * - Bytes may be cut anywhere, inside a line or inside a multi-byte UTF-8 character: the streaming
 *   TextDecoder carries partial characters, the scanner carries the partial line.
 * - Lines end in LF or CRLF (a lone CR is not treated as a line end: no provider sends one).
 * - `:` comment lines (`: OPENROUTER PROCESSING`) and `id:` / `retry:` lines are skipped.
 * - Several `data:` lines in one event are joined with "\n" (WHATWG HTML §9.2.6).
 * - At the end of the body a last event without its blank line is still dispatched (lenient).
 */
import { estimateOutputTokens } from "./estimate";

export type SseHandler = (event: string | null, data: string) => void;

export class SseScanner {
  private readonly decoder = new TextDecoder();
  private carry: string[] = [];
  private pending: Uint8Array | null = null;
  private eventName: string | null = null;
  private data: string | null = null;

  constructor(private readonly onEvent: SseHandler) {}

  push(chunk: Uint8Array): void {
    let s = this.decode(chunk);
    if (this.carry.length > 0) {
      // A line continues from earlier chunks: look for its end in the new text only, and join the
      // pieces once it is found (linear in the line, however many chunks it spans).
      const nl = s.indexOf("\n");
      if (nl === -1) {
        this.carry.push(s);
        return;
      }
      this.carry.push(s.slice(0, nl + 1));
      const first = this.carry.join("");
      this.carry = [];
      s = first + s.slice(nl + 1);
    }
    let pos = 0;
    const n = s.length;
    while (pos < n) {
      const nl = s.indexOf("\n", pos);
      if (nl === -1) break;
      const end = nl > pos && s.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      this.line(s, pos, end);
      pos = nl + 1;
    }
    if (pos < n) this.carry.push(pos === 0 ? s : s.slice(pos));
  }

  /**
   * UTF-8 → string, carrying an incomplete trailing character (≤ 3 bytes) to the next chunk.
   * Done by hand because TextDecoder's {stream: true} mode costs 2–3× a plain decode per call.
   */
  private decode(chunk: Uint8Array): string {
    let bytes = chunk;
    if (this.pending !== null) {
      bytes = new Uint8Array(this.pending.length + chunk.length);
      bytes.set(this.pending, 0);
      bytes.set(chunk, this.pending.length);
      this.pending = null;
    }
    const cut = completeUpTo(bytes);
    if (cut < bytes.length) {
      this.pending = bytes.slice(cut);
      bytes = bytes.subarray(0, cut);
    }
    return bytes.length === 0 ? "" : this.decoder.decode(bytes);
  }

  /** End of body: flush the decoder, the partial line, and a last undispatched event. */
  end(): void {
    const tail = this.pending !== null ? this.decoder.decode(this.pending) : "";
    this.pending = null;
    const rest = this.carry.join("") + tail;
    this.carry = [];
    if (rest !== "") {
      const end = rest.charCodeAt(rest.length - 1) === 13 ? rest.length - 1 : rest.length;
      this.line(rest, 0, end);
    }
    this.dispatch();
  }

  private line(s: string, start: number, end: number): void {
    if (start === end) {
      this.dispatch();
      return;
    }
    const c = s.charCodeAt(start);
    if (c === 100 /* d */ && s.startsWith("data:", start)) {
      let v = start + 5;
      if (s.charCodeAt(v) === 32) v++;
      const value = s.slice(v, end);
      this.data = this.data === null ? value : `${this.data}\n${value}`;
    } else if (c === 101 /* e */ && s.startsWith("event:", start)) {
      let v = start + 6;
      if (s.charCodeAt(v) === 32) v++;
      this.eventName = s.slice(v, end);
    }
    // ":" comments, id:, retry: and unknown fields are ignored.
  }

  private dispatch(): void {
    const data = this.data;
    const name = this.eventName;
    this.data = null;
    this.eventName = null;
    if (data !== null) this.onEvent(name, data);
  }
}

/**
 * True when `data` holds `"<key>":` followed by an object (not null): the cheap test that decides
 * whether an event is worth a JSON.parse. Every occurrence is checked, so an `x_groq.usage` after a
 * top-level `"usage":null` is still found (§1.2). An escaped `\"usage\"` inside a string can only
 * cause a needless parse, never a missed one. The search is for the bare key (`usage`): V8 finds a
 * pattern that starts with a rare character several times faster than one that starts with `"`.
 */
export function hasObjectField(data: string, key: string): boolean {
  let from = 0;
  for (;;) {
    const at = data.indexOf(key, from);
    if (at === -1) return false;
    let i = at + key.length;
    if (data.charCodeAt(at - 1) === 34 && data.charCodeAt(i) === 34) {
      i++;
      while (isSpace(data.charCodeAt(i))) i++;
      if (data.charCodeAt(i) === 58 /* : */) {
        i++;
        while (isSpace(data.charCodeAt(i))) i++;
        if (data.charCodeAt(i) === 123 /* { */) return true;
      }
    }
    from = i;
  }
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

/**
 * Collects the string values of `"<key>": "…"` in event data (markers are given as `key":`,
 * without the leading quote, for search speed), unescaped, up to a cap, and counts their raw
 * characters. Used for the text of streamed deltas (estimates for cut-off streams) without parsing
 * the event.
 */
export class TextCollector {
  private parts: string[] = [];
  private kept = 0;
  private keptRaw = 0;
  chars = 0;

  constructor(
    private readonly markers: readonly string[],
    private readonly cap = 1 << 20,
  ) {}

  /**
   * Markers are tried in order; once one yields a non-empty string the rest are skipped (a delta
   * carries text, or reasoning, or tool arguments — one search per event in the common case).
   * A marker matches after `"` or `_` (so `content":` also finds `reasoning_content":`).
   */
  scan(data: string): void {
    for (const marker of this.markers) {
      const before = this.chars;
      let from = 0;
      for (;;) {
        const at = data.indexOf(marker, from);
        if (at === -1) break;
        let start = at + marker.length;
        const prev = data.charCodeAt(at - 1);
        if (prev !== 34 && prev !== 95 /* _ */) {
          from = start;
          continue;
        }
        while (data.charCodeAt(start) === 32) start++;
        if (data.charCodeAt(start) !== 34) {
          from = start; // null, an object, a number
          continue;
        }
        start++;
        const end = stringEnd(data, start);
        if (end === -1) break;
        if (end > start) {
          this.chars += end - start;
          if (this.kept < this.cap) {
            // Unescaping makes a fresh string, so a kept part does not pin its chunk in memory.
            const part = unescapeJson(data.slice(start, end));
            this.parts.push(part);
            this.kept += part.length;
            this.keptRaw += end - start;
          }
        }
        from = end + 1;
      }
      if (this.chars > before) return;
    }
  }

  /** The collected text, unescaped, up to the cap. */
  text(): string {
    return this.parts.join("");
  }

  /** estimateOutputTokens of the text, scaled up by the share of it beyond the cap. */
  estimateTokens(text = this.text()): number {
    const tokens = estimateOutputTokens(text);
    return this.keptRaw < this.chars ? Math.ceil((tokens * this.chars) / Math.max(1, this.keptRaw)) : tokens;
  }
}

function unescapeJson(raw: string): string {
  // Slices under 13 characters are copies in V8 already; anything longer is re-made by JSON.parse.
  if (raw.length < 13 && !raw.includes("\\")) return raw;
  try {
    return JSON.parse(`"${raw}"`) as string;
  } catch {
    return raw;
  }
}

/** Index of the closing quote of a JSON string whose body starts at `start`, or -1. */
export function stringEnd(s: string, start: number): number {
  let i = start;
  for (;;) {
    const q = s.indexOf('"', i);
    if (q === -1) return -1;
    let bs = 0;
    for (let j = q - 1; j >= start && s.charCodeAt(j) === 92; j--) bs++;
    if (bs % 2 === 0) return q;
    i = q + 1;
  }
}

/** Length of the prefix of `b` that ends on a whole UTF-8 character. */
function completeUpTo(b: Uint8Array): number {
  const n = b.length;
  if (n === 0 || b[n - 1]! < 0x80) return n;
  // Walk back over continuation bytes (10xxxxxx) to the lead byte, at most 3.
  let i = n - 1;
  while (i > n - 4 && i > 0 && (b[i]! & 0xc0) === 0x80) i--;
  const lead = b[i]!;
  const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return n - i >= need ? n : i;
}
