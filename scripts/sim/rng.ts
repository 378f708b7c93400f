/**
 * A seeded PRNG (mulberry32) and a Zipf sampler, so a simulation run is the same on every machine
 * for the same seed. Floats here only pick times and indices; money is always integer nano-USD.
 */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  float(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }

  /** Uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }

  /** An exponential gap (ms) for events at `perMs` per ms: Poisson arrivals. */
  gap(perMs: number): number {
    return -Math.log(1 - this.float()) / perMs;
  }

  /** An independent stream, so adding draws in one part of the model does not shift another's. */
  fork(salt: number): Rng {
    return new Rng(Math.imul(this.state ^ salt, 0x9e3779b1) ^ salt);
  }
}

/** Index i in [0, n) with weight 1 / (i + 1)^s: a few hot items, a long tail. */
export class Zipf {
  private readonly cumulative: number[] = [];

  constructor(n: number, s: number) {
    let sum = 0;
    for (let i = 0; i < n; i++) {
      sum += 1 / (i + 1) ** s;
      this.cumulative.push(sum);
    }
  }

  sample(rng: Rng): number {
    const target = rng.float() * this.cumulative[this.cumulative.length - 1]!;
    let lo = 0;
    let hi = this.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cumulative[mid]! > target) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}
