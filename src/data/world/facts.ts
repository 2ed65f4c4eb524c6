import { createRng } from "../random.js";
import { inventNames, inventWord } from "./names.js";

/** Sizes of the generated world; every count has a default sized for a tiny model on 2 CPU cores. */
export interface WorldOptions {
    /** Seeds every fact and every question; same seed, same world, byte for byte. */
    seed: number;
    /** Invented lands, each with a capital, a tongue and a coin (default 60). */
    lands?: number;
    /** Invented creatures, each with a diet, a colour and a home (default 60). */
    creatures?: number;
    /**
     * How many of the lands and of the creatures are "far" (default 0): the last ones drawn. Their facts
     * are asked by the `.far.` tasks only, so a benchmark can keep them out of the device's corpus and
     * leave them to the pool and the server.
     */
    far?: number;
    /** Invented devices, each with a maker and a metal (default 50). */
    devices?: number;
    /** Pseudo-words the spelling tasks ask about (default 400). */
    words?: number;
}

/** `far`: one of the entities only the `.far.` tasks ask about (see WorldOptions.far). */
export interface Land { name: string; capital: string; tongue: string; coin: string; far: boolean }
export interface Creature { name: string; diet: string; colour: string; home: string; far: boolean }
export interface Device { name: string; maker: string; metal: string }

/** The fact table of the world: what a model must memorize to answer the knowledge tasks. */
export interface WorldFacts {
    lands: Land[];
    creatures: Creature[];
    devices: Device[];
    /** The value sets the facts are drawn from (also the distractors of the questions). */
    tongues: string[];
    coins: string[];
    makers: string[];
    diets: string[];
    colours: string[];
    homes: string[];
    metals: string[];
    words: string[];
}

const DIETS = ["seeds", "fish", "fruit", "leaves", "bugs", "nectar"];
const COLOURS = ["red", "blue", "green", "gold", "grey", "white", "black", "pink"];
const HOMES = ["cave", "reef", "marsh", "dune", "wood", "peak"];
const METALS = ["tin", "iron", "brass", "silver", "copper", "steel"];

export function createFacts(options: WorldOptions): WorldFacts {
    const rng = createRng(`world:${options.seed}:facts`);
    const taken = new Set<string>();
    const landNames = inventNames(rng, options.lands ?? 60, taken);
    const capitals = inventNames(rng, landNames.length, taken);
    const tongues = inventNames(rng, 8, taken);
    const coins = inventNames(rng, 8, taken);
    const creatureNames = inventNames(rng, options.creatures ?? 60, taken);
    const deviceNames = inventNames(rng, options.devices ?? 50, taken);
    const makers = inventNames(rng, 16, taken);
    const words = new Set<string>();
    while (words.size < (options.words ?? 400)) {
        const word = inventWord(rng);
        if (!taken.has(word[0]!.toUpperCase() + word.slice(1))) words.add(word);
    }
    const far = options.far ?? 0;
    const isFar = (i: number, count: number) => i >= count - far;
    return {
        lands: landNames.map((name, i) => ({ name, capital: capitals[i]!, tongue: rng.pick(tongues), coin: rng.pick(coins), far: isFar(i, landNames.length) })),
        creatures: creatureNames.map((name, i) => ({ name, diet: rng.pick(DIETS), colour: rng.pick(COLOURS), home: rng.pick(HOMES), far: isFar(i, creatureNames.length) })),
        devices: deviceNames.map((name) => ({ name, maker: rng.pick(makers), metal: rng.pick(METALS) })),
        tongues,
        coins,
        makers,
        diets: DIETS,
        colours: COLOURS,
        homes: HOMES,
        metals: METALS,
        words: [...words]
    };
}
