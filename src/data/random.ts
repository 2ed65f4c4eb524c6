/**
 * A small seeded PRNG (mulberry32) so that everything generated or sampled in Crayon — the QA world,
 * benchmark subsets, k-shot draws — is identical on every machine for the same seed.
 */
export interface Rng {
    /** Uniform in [0, 1). */
    next(): number;
    /** Uniform integer in [0, n). */
    int(n: number): number;
    pick<T>(items: readonly T[]): T;
    /** A shuffled copy (Fisher–Yates); the input is left untouched. */
    shuffle<T>(items: readonly T[]): T[];
}

export function createRng(seed: number | string): Rng {
    let state = (typeof seed === "string" ? hashString(seed) : seed) >>> 0;
    const next = (): number => {
        state = (state + 0x6d2b79f5) >>> 0;
        let t = state;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const int = (n: number): number => {
        if (!Number.isInteger(n) || n <= 0) throw new RangeError(`rng.int needs a positive integer, got ${n}`);
        return Math.floor(next() * n);
    };
    return {
        next,
        int,
        pick: (items) => {
            if (items.length === 0) throw new RangeError("rng.pick from an empty list");
            return items[int(items.length)]!;
        },
        shuffle: (items) => {
            const out = items.slice();
            for (let i = out.length - 1; i > 0; i--) {
                const j = int(i + 1);
                [out[i], out[j]] = [out[j]!, out[i]!];
            }
            return out;
        }
    };
}

/** FNV-1a: turns a seed label such as `world:arith.add:7` into a 32-bit seed. */
export function hashString(text: string): number {
    let hash = 0x811c9dc5;
    for (let i = 0; i < text.length; i++) {
        hash ^= text.charCodeAt(i);
        hash = Math.imul(hash, 0x01000193);
    }
    return hash >>> 0;
}
