/**
 * A small per-isolate cache of values (never of promises: a promise from one request's I/O must
 * not be awaited by another request in Workers, so concurrent misses each load on their own).
 * Bounded: an isolate serving many keys forgets the oldest first.
 */
export class IsolateCache<T> {
  private readonly values = new Map<string, { value: T; expiresAt: number }>();
  constructor(
    private readonly ttlMs: number,
    private readonly max = 5000,
  ) {}

  async get(id: string, now: number, load: () => Promise<T>): Promise<T> {
    const hit = this.values.get(id);
    if (hit && hit.expiresAt > now) return hit.value;
    const value = await load();
    if (this.values.size >= this.max) this.values.delete(this.values.keys().next().value as string);
    this.values.set(id, { value, expiresAt: now + this.ttlMs });
    return value;
  }

  delete(id: string): void {
    this.values.delete(id);
  }
}
