import type { Rng } from "../random.js";

/**
 * Syllables the invented names are built from. A short fixed list keeps the world's vocabulary small:
 * a tokenizer learns these pieces once and every invented land, creature or maker reuses them.
 */
const ONSETS = ["b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z"];
const VOWELS = ["a", "e", "i", "o", "u"];
const CODAS = ["", "", "", "n", "r", "l", "s"];

function syllable(rng: Rng): string {
    return rng.pick(ONSETS) + rng.pick(VOWELS) + rng.pick(CODAS);
}

/** A lowercase pseudo-word of 2 or 3 syllables, e.g. `kalomi`. */
export function inventWord(rng: Rng): string {
    const count = 2 + rng.int(2);
    let word = "";
    for (let i = 0; i < count; i++) word += syllable(rng);
    return word;
}

/**
 * `count` new capitalised names, none already in `taken` (which is updated), so that no two entities
 * of the world — lands, capitals, creatures, makers… — share a name and every question has one reading.
 */
export function inventNames(rng: Rng, count: number, taken: Set<string>): string[] {
    const names: string[] = [];
    while (names.length < count) {
        const word = inventWord(rng);
        const name = word[0]!.toUpperCase() + word.slice(1);
        if (taken.has(word) || taken.has(name)) continue;
        taken.add(name);
        names.push(name);
    }
    return names;
}
