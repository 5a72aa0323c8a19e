// Test and bench support: a small seeded pseudo-random generator for property-based tests and fuzzing, so a
// failing case is reproduced by its seed. Not imported by production code.

/** Seeds to run, from `CONTRAIL_FUZZ_SEEDS` ("7", "1,5,9" or a range "1..200"), else `fallback`. */
export function fuzzSeeds(fallback: readonly number[]): number[] {
  const text = process.env.CONTRAIL_FUZZ_SEEDS?.trim();
  if (text === undefined || text === "") return [...fallback];
  const range = /^(\d+)\.\.(\d+)$/.exec(text);
  if (range !== null) {
    const out: number[] = [];
    for (let s = Number(range[1]); s <= Number(range[2]); s++) out.push(s);
    return out;
  }
  const list = text.split(",").map((s) => Number(s.trim()));
  if (list.some((s) => !Number.isInteger(s) || s < 0)) throw new Error(`CONTRAIL_FUZZ_SEEDS: bad seed list ${text}`);
  return list;
}

/** A float in [0, 1) each call, from a mulberry32 generator whose sequence is fixed by `seed` (any integer). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x1_0000_0000;
  };
}

/** A float in [0, 1) each call, the sequence of `new Random(seed).next()`. */
export function xorshift32(seed: number): () => number {
  const random = new Random(seed);
  return () => random.next();
}

/** A deterministic source of random choices (xorshift32). */
export class Random {
  private s: number;

  /** A generator whose whole sequence is fixed by `seed` (any integer; 0 is replaced by 1). */
  constructor(seed: number) {
    this.s = seed >>> 0 || 1;
  }

  /** A float in [0, 1). */
  next(): number {
    let s = this.s;
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    this.s = s;
    return s / 0x1_0000_0000;
  }

  /** An integer in [lo, hi], both inclusive. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One element of the non-empty `list`. */
  pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.next() * list.length)];
  }
}
