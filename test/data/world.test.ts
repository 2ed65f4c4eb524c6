import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { QaItem } from "../../src/data/item.js";
import { createRng } from "../../src/data/random.js";
import { createWorld } from "../../src/data/world/world.js";

const world = createWorld({ seed: 2024 });
const ITEMS_PER_TASK = 200;
const itemsByTask = new Map(world.tasks.map((t) => [t.task, world.items(t.task, ITEMS_PER_TASK)]));
const allItems = [...itemsByTask.values()].flat();

/** Independent solvers: parse the question text and compute the answer from scratch. */
const DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
const PER_UNIT: Record<string, number> = { "minutes/hours": 60, "seconds/minutes": 60, "hours/days": 24, "days/weeks": 7, "months/years": 12 };

function solveSkill(item: QaItem): string | undefined {
    const q = item.question;
    let m: RegExpMatchArray | null;
    if ((m = q.match(/^Calc: (\d+) ([-+*/]) (\d+) = \?$/))) {
        const [a, b] = [Number(m[1]), Number(m[3])];
        const value = m[2] === "+" ? a + b : m[2] === "-" ? a - b : m[2] === "*" ? a * b : a / b;
        expect(Number.isInteger(value), q).toBe(true);
        return String(value);
    }
    if ((m = q.match(/^Rank: (bigger|smaller|biggest|smallest) of (.+)\?$/))) {
        const values = m[2]!.split(/, | and /).map(Number);
        return String(m[1]!.startsWith("big") ? Math.max(...values) : Math.min(...values));
    }
    if ((m = q.match(/^Series: (.+)$/))) {
        const terms = m[1]!.split(", ");
        const known = terms.map((t, i) => [i, Number(t)] as const).filter(([i]) => terms[i] !== "?");
        const step = (known[known.length - 1]![1] - known[0]![1]) / (known[known.length - 1]![0] - known[0]![0]);
        const slot = terms.indexOf("?");
        return String(known[0]![1] + (slot - known[0]![0]) * step);
    }
    if ((m = q.match(/^Spell: (first|last) letter of ([a-z]+)\?$/))) return m[1] === "first" ? m[2]![0] : m[2]!.at(-1);
    if ((m = q.match(/^Spell: letters in ([a-z]+)\?$/))) return String(m[1]!.length);
    if ((m = q.match(/^Spell: how many ([a-z]) in ([a-z]+)\?$/))) return String([...m[2]!].filter((c) => c === m![1]).length);
    if ((m = q.match(/^Clock: (\w+) (plus|minus) (\d+) (days|months)\?$/))) {
        const cycle = m[4] === "days" ? DAYS : MONTHS;
        const shift = (m[2] === "plus" ? 1 : -1) * Number(m[3]);
        return cycle[(((cycle.indexOf(m[1]!) + shift) % cycle.length) + cycle.length) % cycle.length];
    }
    if ((m = q.match(/^Clock: (\w+) in (\d+) (\w+)\?$/))) return String(Number(m[2]) * PER_UNIT[`${m[1]}/${m[3]}`]!);
    return undefined;
}

/** The knowledge questions answered from the fact table, by entity name. */
function solveKnowledge(item: QaItem): string | undefined {
    const { lands, creatures, devices } = world.facts;
    const q = item.question;
    const land = lands.find((l) => new RegExp(`\\b${l.name}\\?$`).test(q) || q.includes(` ${l.name} `));
    const creature = creatures.find((c) => q.includes(`the ${c.name} `) || q.includes(`the ${c.name}?`));
    const device = devices.find((d) => q.includes(`the ${d.name} `) || q.includes(`the ${d.name}?`));
    const yesNo = (truth: boolean) => (truth ? "yes" : "no");
    let m: RegExpMatchArray | null;
    if (q.startsWith("Atlas:") && land) {
        if ((m = q.match(/^Atlas: is (\w+) the capital of/))) return yesNo(land.capital === m[1]);
        if ((m = q.match(/^Atlas: do they speak (\w+) in/))) return yesNo(land.tongue === m[1]);
        if ((m = q.match(/^Atlas: do they pay in (\w+) in/))) return yesNo(land.coin === m[1]);
        if (/capital of|has its seat in/.test(q)) return land.capital;
        if (/tongue of|speak\?/.test(q)) return land.tongue;
        if (/coin of|pay with\?/.test(q)) return land.coin;
    }
    if (q.startsWith("Zoo:") && creature) {
        if ((m = q.match(/^Zoo: does the \w+ eat (\w+)\?$/))) return yesNo(creature.diet === m[1]);
        if ((m = q.match(/^Zoo: is the \w+ (\w+)\?$/))) return yesNo(creature.colour === m[1]);
        if ((m = q.match(/^Zoo: does the \w+ live in a (\w+)\?$/))) return yesNo(creature.home === m[1]);
        if (/eat\?|feeds on/.test(q)) return creature.diet;
        if (/colour/.test(q)) return creature.colour;
        if (/live\?|found in/.test(q)) return creature.home;
    }
    if (q.startsWith("Forge:") && device) {
        if ((m = q.match(/^Forge: did (\w+) make the/))) return yesNo(device.maker === m[1]);
        if ((m = q.match(/^Forge: is the \w+ made of (\w+)\?$/))) return yesNo(device.metal === m[1]);
        if (/made the|built by/.test(q)) return device.maker;
        if (/metal of|cast in/.test(q)) return device.metal;
    }
    return undefined;
}

describe("the QA world", () => {
    it("is deterministic: a fixed seed gives byte-identical output", () => {
        const serialize = (seed: number) => {
            const w = createWorld({ seed });
            return JSON.stringify({ facts: w.facts, items: w.tasks.map((t) => w.items(t.task, Math.min(100, t.distinctQuestions))) });
        };
        const text = serialize(2024);
        expect(serialize(2024)).toBe(text);
        expect(serialize(2025)).not.toBe(text);
        expect(createHash("sha256").update(text).digest("hex")).toBe("a09b00ef624f663400aa338e351eede3d10af044562600d9336a289f073cb65b");
    });

    it("keeps a task's items when more are asked for, and gives each task its own stream", () => {
        expect(world.items("arith.add", 50)).toEqual(world.items("arith.add", 120).slice(0, 50));
        const other = createWorld({ seed: 2024, lands: 30 });
        expect(other.items("arith.add", 50)).toEqual(world.items("arith.add", 50));
    });

    it("has at least 6 domains with at least 4 tasks each, and generates in well under a second", () => {
        const domains = new Map<string, number>();
        for (const t of world.tasks) domains.set(t.domain, (domains.get(t.domain) ?? 0) + 1);
        expect(domains.size).toBeGreaterThanOrEqual(6);
        for (const [domain, count] of domains) expect(count, domain).toBeGreaterThanOrEqual(4);
        for (const t of world.tasks) expect(t.task.startsWith(`${t.domain}.`)).toBe(true);
        const start = performance.now();
        const fresh = createWorld({ seed: 99 });
        for (const t of fresh.tasks) fresh.items(t.task, 300);
        expect(performance.now() - start).toBeLessThan(1000);
    });

    it("gives every item 2–5 distinct choices, a valid answer, a stable unique id and a short prompt", () => {
        const ids = new Set(allItems.map((i) => i.id));
        expect(ids.size).toBe(allItems.length);
        for (const item of allItems) {
            expect(item.source).toBe("world");
            expect(item.id).toMatch(new RegExp(`^world/${item.task.replace(".", "\\.")}/\\d{6}$`));
            expect(item.choices.length).toBeGreaterThanOrEqual(2);
            expect(item.choices.length).toBeLessThanOrEqual(5);
            expect(new Set(item.choices).size, item.question).toBe(item.choices.length);
            expect(item.answer >= 0 && item.answer < item.choices.length).toBe(true);
            expect(item.question.length).toBeLessThan(60);
        }
        // the gold letter is spread over the positions, so a position prior earns nothing
        const fourWay = allItems.filter((i) => i.choices.length === 4);
        for (let letter = 0; letter < 4; letter++) {
            const share = fourWay.filter((i) => i.answer === letter).length / fourWay.length;
            expect(share).toBeGreaterThan(0.2);
            expect(share).toBeLessThan(0.3);
        }
    });

    it("answers every skill item correctly, checked by an independent solver", () => {
        let solved = 0;
        for (const item of allItems) {
            const expected = solveSkill(item);
            if (expected === undefined) continue;
            expect(item.choices[item.answer], item.question).toBe(expected);
            expect(item.choices.filter((c) => c === expected)).toHaveLength(1);
            solved++;
        }
        const skillDomains = ["arith", "rank", "series", "spell", "clock"];
        expect(solved).toBe(allItems.filter((i) => skillDomains.includes(i.task.split(".")[0]!)).length);
    });

    it("agrees with the fact table on every knowledge item", () => {
        const knowledge = allItems.filter((i) => ["atlas", "zoo", "forge"].includes(i.task.split(".")[0]!));
        expect(knowledge.length).toBeGreaterThan(1000);
        for (const item of knowledge) {
            const expected = solveKnowledge(item);
            expect(expected, item.question).toBeDefined();
            expect(item.choices[item.answer], item.question).toBe(expected);
        }
    });

    it("has a distinct surface form per domain: the first word names the domain", () => {
        const prefixOf = new Map<string, Set<string>>();
        for (const item of allItems) {
            const domain = item.task.split(".")[0]!;
            const set = prefixOf.get(domain) ?? new Set<string>();
            set.add(item.question.split(" ")[0]!);
            prefixOf.set(domain, set);
        }
        const prefixes = [...prefixOf.values()].map((set) => [...set]);
        for (const set of prefixes) expect(set).toHaveLength(1);
        expect(new Set(prefixes.flat()).size).toBe(prefixOf.size);
    });
});

describe("createRng", () => {
    it("is seeded, uniform enough and shuffles without losing items", () => {
        const a = createRng(7);
        const b = createRng(7);
        const draws = Array.from({ length: 1000 }, () => a.next());
        expect(Array.from({ length: 1000 }, () => b.next())).toEqual(draws);
        expect(draws.every((x) => x >= 0 && x < 1)).toBe(true);
        const counts = [0, 0, 0, 0];
        const rng = createRng("counts");
        for (let i = 0; i < 4000; i++) counts[rng.int(4)]!++;
        for (const count of counts) expect(Math.abs(count - 1000)).toBeLessThan(120);
        expect(rng.shuffle([1, 2, 3, 4, 5]).sort()).toEqual([1, 2, 3, 4, 5]);
    });
});
