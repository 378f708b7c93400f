/**
 * The client's copy of a stream whose usage the gateway asked for (stream_options.include_usage
 * injected, docs/wire-formats.md §2): the provider's bytes exactly, minus the usage-only event — one
 * `data: {…,"choices":[],"usage":{…}}` line and the blank line after it. Nothing else changes.
 *
 * An event is stripped only when it is a single `data:` line whose JSON has `choices` = [] AND a
 * non-null `usage` object (checked by JSON.parse of that one line). A chunk with choices and usage
 * (DeepSeek, Mistral, Groq's x_groq chunk, OpenRouter's stub choice) is kept (§1.2).
 *
 * Latency: bytes are forwarded as soon as it is known they cannot belong to the usage event. At the
 * start of each event the stripper reads `data: {` … up to the first `"choices":[` and the next
 * non-space byte: `{` (or anything but `]`) → the event is passed through from there, with no
 * further holding. Only the prefix of an event up to that point (≈150 bytes in OpenAI's key order)
 * and a candidate event with empty choices (until its blank line) are ever held back, and only
 * while a chunk boundary falls inside them; never more than 64 KiB (a first line that long is
 * passed through undecided — usage-only chunks are a few hundred bytes). Bytes are re-emitted as subarrays of the input chunks:
 * no copy unless bytes were held across chunks.
 */
import { concatBytes } from "../../lib/bytes";

const DATA = [100, 97, 116, 97, 58]; // "data:"
const CHOICES_KEY = [34, 99, 104, 111, 105, 99, 101, 115, 34]; // "choices"
const LF = 10;
const CR = 13;

export interface UsageChunkStripper {
  /** Bytes to send to the client now (possibly none, possibly several pieces). */
  push(chunk: Uint8Array): Uint8Array[];
  /** End of stream: whatever is still held (an incomplete event is never stripped). */
  flush(): Uint8Array[];
  /** Events stripped so far (normally 0 or 1). */
  readonly stripped: number;
}

// "pass": keep this event; `next` = where its first line ends (+1), or -1 when that is not in the buffer yet.
type Decision = { kind: "pass"; next: number } | { kind: "more" } | { kind: "strip"; end: number };

export function createUsageChunkStripperCore(): UsageChunkStripper {
  let held: Uint8Array | null = null;
  // "hold": at the start of an event, deciding. "pass": inside an event known to be kept.
  let mode: "hold" | "pass" = "hold";
  // Pass mode: bytes of the current line seen so far, and whether they are exactly one CR.
  let lineLen = 0;
  let lineIsCR = false;
  let stripped = 0;

  function decide(buf: Uint8Array, s: number): Decision {
    const n = buf.length;
    for (let k = 0; k < 5; k++) {
      if (s + k >= n) return MORE;
      if (buf[s + k] !== DATA[k]) return { kind: "pass", next: -1 };
    }
    let p = s + 5;
    if (p >= n) return MORE;
    if (buf[p] === 32) p++;
    if (p >= n) return MORE;
    const nl = buf.indexOf(LF, p);
    const pass: Decision = { kind: "pass", next: nl === -1 ? -1 : nl + 1 };
    // A usage-only chunk is a few hundred bytes: an undecided line this long is not one (and
    // holding it further would only add delay and rescans).
    if (nl === -1 && n - s > MAX_HOLD) return pass;
    if (buf[p] !== 123 /* { */) return pass;
    const payload = p;
    const lineEnd = nl === -1 ? n : nl;
    // The first `[` that opens "choices" (OpenAI's first `[` is that one).
    let q = -1;
    for (let from = p; ; ) {
      const br = buf.indexOf(91 /* [ */, from);
      if (br === -1 || br >= lineEnd) return nl === -1 ? MORE : pass;
      if (isChoicesKeyBefore(buf, br, payload)) {
        q = br + 1;
        break;
      }
      from = br + 1;
    }
    while (q < lineEnd && isSpace(buf[q]!)) q++;
    if (q >= lineEnd) return nl === -1 ? MORE : pass;
    if (buf[q] !== 93 /* ] */) return pass;
    // Empty choices: a candidate. It must be one line followed by a blank line.
    if (nl === -1 || nl + 1 >= n) return MORE;
    let end: number;
    if (buf[nl + 1] === LF) end = nl + 2;
    else if (buf[nl + 1] === CR) {
      if (nl + 2 >= n) return MORE;
      if (buf[nl + 2] !== LF) return pass;
      end = nl + 3;
    } else return pass;
    const payloadEnd = buf[nl - 1] === CR ? nl - 1 : nl;
    try {
      const ev = JSON.parse(utf8.decode(buf.subarray(payload, payloadEnd))) as Record<string, unknown>;
      const usage = ev.usage;
      if (Array.isArray(ev.choices) && ev.choices.length === 0 && typeof usage === "object" && usage !== null) {
        return { kind: "strip", end };
      }
    } catch {
      // Not JSON: not ours to touch.
    }
    return pass;
  }

  function push(chunk: Uint8Array): Uint8Array[] {
    const buf: Uint8Array = held ? concatBytes([held, chunk]) : chunk;
    held = null;
    const out: Uint8Array[] = [];
    const n = buf.length;
    let emitFrom = 0;
    let pos = 0;
    while (pos < n) {
      if (mode === "hold") {
        const d = decide(buf, pos);
        if (d.kind === "more") {
          if (pos > emitFrom) out.push(buf.subarray(emitFrom, pos));
          held = buf.slice(pos);
          return out;
        }
        if (d.kind === "strip") {
          if (pos > emitFrom) out.push(buf.subarray(emitFrom, pos));
          stripped++;
          emitFrom = pos = d.end;
          continue;
        }
        mode = "pass";
        lineLen = 0;
        lineIsCR = false;
        if (d.next !== -1) {
          // The first line is not blank (it starts with "data:"); continue at the next line.
          pos = d.next;
          // Common case: the blank line that ends the event is right here.
          if (pos < n && buf[pos] === LF) {
            pos++;
            mode = "hold";
          } else if (pos + 1 < n && buf[pos] === CR && buf[pos + 1] === LF) {
            pos += 2;
            mode = "hold";
          }
          continue;
        }
      }
      // Pass mode: find the blank line that ends this event.
      const nl = buf.indexOf(LF, pos);
      if (nl === -1) {
        const tail = n - pos;
        lineIsCR = lineLen === 0 && tail === 1 && buf[pos] === CR;
        lineLen += tail;
        pos = n;
        break;
      }
      const len = lineLen + (nl - pos);
      const blank = len === 0 || (len === 1 && (nl > pos ? buf[nl - 1] === CR : lineIsCR));
      lineLen = 0;
      lineIsCR = false;
      pos = nl + 1;
      if (blank) mode = "hold";
    }
    if (emitFrom < n) out.push(emitFrom === 0 ? buf : buf.subarray(emitFrom));
    return out;
  }

  return {
    push,
    flush() {
      const rest = held;
      held = null;
      return rest && rest.length > 0 ? [rest] : [];
    },
    get stripped() {
      return stripped;
    },
  };
}

/** The stripper as a TransformStream (what the proxy pipes the client's branch through). */
export function createUsageChunkStripper(): TransformStream<Uint8Array, Uint8Array> {
  const core = createUsageChunkStripperCore();
  return new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      for (const piece of core.push(chunk)) controller.enqueue(piece);
    },
    flush(controller) {
      for (const piece of core.flush()) controller.enqueue(piece);
    },
  });
}

const MORE: Decision = { kind: "more" };
/** Shared: a decode without `stream` keeps no state between calls. */
const utf8 = new TextDecoder();
const MAX_HOLD = 64 * 1024;

/** `"choices"` then optional spaces and `:` then optional spaces, right before `[` at `br`. */
function isChoicesKeyBefore(buf: Uint8Array, br: number, min: number): boolean {
  let i = br - 1;
  while (i >= min && isSpace(buf[i]!)) i--;
  if (i < min || buf[i] !== 58 /* : */) return false;
  i--;
  while (i >= min && isSpace(buf[i]!)) i--;
  const start = i - CHOICES_KEY.length + 1;
  if (start < min) return false;
  for (let k = 0; k < CHOICES_KEY.length; k++) if (buf[start + k] !== CHOICES_KEY[k]) return false;
  return true;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === CR;
}
