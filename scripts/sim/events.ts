/**
 * The simulation's clock: a binary heap of timed callbacks. Ties run in the order they were
 * scheduled, so a seed fixes the interleaving exactly; different seeds (through network jitter)
 * give different interleavings of the same protocol.
 */
interface Entry {
  at: number;
  seq: number;
  run: () => void;
}

export class Scheduler {
  now = 0;
  private seq = 0;
  private readonly heap: Entry[] = [];

  at(at: number, run: () => void): void {
    const e = { at: Math.max(at, this.now), seq: this.seq++, run };
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  after(ms: number, run: () => void): void {
    this.at(this.now + ms, run);
  }

  /** Runs every event (events may schedule more) until none is left. */
  run(): void {
    for (let e = this.pop(); e; e = this.pop()) {
      this.now = e.at;
      e.run();
    }
  }

  private pop(): Entry | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l]!, h[m]!)) m = l;
        if (r < h.length && before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

const before = (a: Entry, b: Entry) => a.at < b.at || (a.at === b.at && a.seq < b.seq);
