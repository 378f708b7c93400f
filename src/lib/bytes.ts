/** Joins byte chunks into one array (the single chunk itself when there is only one). */
export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  let size = 0;
  for (const c of chunks) size += c.byteLength;
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/**
 * Bytes kept from a body as it passes: each chunk is COPIED into one growing buffer (doubling), so
 * the caller's buffers are never kept. Why it matters: workerd hands each read of a fetch body in
 * its own 4 KiB ArrayBuffer, however few bytes it holds; keeping the views of a long stream of
 * ~200-byte SSE events kept ~20× their bytes alive (4 MB per 1,000-read stream), which both
 * approached the isolate's memory limit and made V8 run full collections every few seconds — a
 * pause in every stream of the isolate (`npm run bench`, paced streams). One copy per chunk
 * (a memcpy) costs less than that, and the join at the end is gone.
 *
 * With a `max`, the first append past it empties the buffer and marks it `overflow`: from then on
 * it keeps nothing (a body too large to keep is not kept in part).
 */
export class ByteBuffer {
  private buf = EMPTY;
  private used = 0;
  overflow = false;

  constructor(private readonly max = Number.POSITIVE_INFINITY) {}

  /** Bytes kept so far. */
  get length(): number {
    return this.used;
  }

  append(chunk: Uint8Array): void {
    if (this.overflow) return;
    const need = this.used + chunk.byteLength;
    if (need > this.max) {
      this.overflow = true;
      this.clear();
      return;
    }
    if (need > this.buf.byteLength) {
      const grown = new Uint8Array(Math.max(need, this.buf.byteLength * 2, MIN_CAPACITY));
      grown.set(this.buf.subarray(0, this.used));
      this.buf = grown;
    }
    this.buf.set(chunk, this.used);
    this.used = need;
  }

  /** The bytes kept, as a view (valid until the next append). */
  view(): Uint8Array {
    return this.buf.subarray(0, this.used);
  }

  clear(): void {
    this.buf = EMPTY;
    this.used = 0;
  }
}

const EMPTY = new Uint8Array(0);
const MIN_CAPACITY = 4096;
