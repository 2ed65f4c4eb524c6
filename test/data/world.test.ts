import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { QaItem } from "../../src/data/item.js";
import { createRng } from "../../src/data/random.js";
import { createWorld } from "../../src/data/world/world.js";

// far entities too, so every task of the world has items
const world = createWorld({ seed: 2024, far: 20 });
const ITEMS_PER_TASK = 200;
const itemsByTask = new Map(world.tasks.map((t) => [t.task, world.items(t.task, ITEMS_PER_TASK)]));
const allItems = [...itemsByTask.values()].flat();

/** Independent solver of the rule-based skills: parse the question text and compute the answer from scratch. */
function solveSkill(item: QaItem): string | undefined {
    const q = item.question;
    let m: RegExpMatchArray | null;
    if ((m = q.match(/^Rank: (bigger|smaller|biggest|smallest) of (.+)\?$/))) {
        const values = m[2]!.split(/, | and /).map(Number);
        expect(m[1]!.endsWith("est") ? [3, 4] : [2], q).toContain(values.length);
        return String(m[1]!.startsWith("big") ? Math.max(...values) : Math.min(...values));
    }
    if ((m = q.match(/^Spell: (first|last) letter of ([a-z]+)\?$/))) return m[1] === "first" ? m[2]![0] : m[2]!.at(-1);
    if ((m = q.match(/^Spell: letters in ([a-z]+)\?$/))) return String(m[1]!.length);
    if ((m = q.match(/^Spell: how many ([a-z]) in ([a-z]+)\?$/))) return String([...m[2]!].filter((c) => c === m![1]).length);
    return undefined;
}

/** Every phrasing of a knowledge question, with the named entity (and claimed value) and the fact table's answer. */
type Phrasing = [RegExp, (entity: string, value: string) => string | undefined];
const yesNo = (truth: boolean | undefined) => (truth === undefined ? undefined : truth ? "yes" : "no");
const land = (name: string) => world.facts.lands.find((l) => l.name === name);
const creature = (name: string) => world.facts.creatures.find((c) => c.name === name);
const device = (name: string) => world.facts.devices.find((d) => d.name === name);
const phrasing = (pattern: string, solve: Phrasing[1]): Phrasing => [new RegExp(pattern), solve];
const E = "(?<entity>\\w+)";
const V = "(?<value>\\w+)";
const PHRASINGS: Phrasing[] = [
    phrasing(`^Atlas: capital of ${E}\\?$`, (e) => land(e)?.capital),
    phrasing(`^Atlas: which city is the capital of ${E}\\?$`, (e) => land(e)?.capital),
    phrasing(`^Atlas: is ${V} the capital of ${E}\\?$`, (e, v) => yesNo(land(e) && land(e)!.capital === v)),
    phrasing(`^Atlas: tongue of ${E}\\?$`, (e) => land(e)?.tongue),
    phrasing(`^Atlas: which tongue is spoken in ${E}\\?$`, (e) => land(e)?.tongue),
    phrasing(`^Atlas: do they speak ${V} in ${E}\\?$`, (e, v) => yesNo(land(e) && land(e)!.tongue === v)),
    phrasing(`^Atlas: coin of ${E}\\?$`, (e) => land(e)?.coin),
    phrasing(`^Atlas: which coin is used in ${E}\\?$`, (e) => land(e)?.coin),
    phrasing(`^Atlas: do they pay in ${V} in ${E}\\?$`, (e, v) => yesNo(land(e) && land(e)!.coin === v)),
    phrasing(`^Zoo: what does the ${E} eat\\?$`, (e) => creature(e)?.diet),
    phrasing(`^Zoo: which food does the ${E} eat\\?$`, (e) => creature(e)?.diet),
    phrasing(`^Zoo: does the ${E} eat ${V}\\?$`, (e, v) => yesNo(creature(e) && creature(e)!.diet === v)),
    phrasing(`^Zoo: colour of the ${E}\\?$`, (e) => creature(e)?.colour),
    phrasing(`^Zoo: which colour is the ${E}\\?$`, (e) => creature(e)?.colour),
    phrasing(`^Zoo: is the ${E} ${V}\\?$`, (e, v) => yesNo(creature(e) && creature(e)!.colour === v)),
    phrasing(`^Zoo: where does the ${E} live\\?$`, (e) => creature(e)?.home),
    phrasing(`^Zoo: which place does the ${E} live in\\?$`, (e) => creature(e)?.home),
    phrasing(`^Zoo: does the ${E} live in a ${V}\\?$`, (e, v) => yesNo(creature(e) && creature(e)!.home === v)),
    phrasing(`^Forge: who made the ${E}\\?$`, (e) => device(e)?.maker),
    phrasing(`^Forge: which maker made the ${E}\\?$`, (e) => device(e)?.maker),
    phrasing(`^Forge: did ${V} make the ${E}\\?$`, (e, v) => yesNo(device(e) && device(e)!.maker === v)),
    phrasing(`^Forge: metal of the ${E}\\?$`, (e) => device(e)?.metal),
    phrasing(`^Forge: which metal is the ${E} made of\\?$`, (e) => device(e)?.metal),
    phrasing(`^Forge: is the ${E} made of ${V}\\?$`, (e, v) => yesNo(device(e) && device(e)!.metal === v))
];

/** The knowledge question's entity and its answer from the fact table; undefined if no phrasing matches. */
function solveKnowledge(item: QaItem): { entity: string; answer: string | undefined } | undefined {
    for (const [pattern, solve] of PHRASINGS) {
        const groups = item.question.match(pattern)?.groups;
        if (groups !== undefined) return { entity: groups.entity!, answer: solve(groups.entity!, groups.value ?? "") };
    }
    return undefined;
}

const domainOf = (task: string) => task.split(".")[0]!;
const isFarTask = (task: string) => task.split(".")[1] === "far";

describe("the QA world", () => {
    it("is deterministic: a fixed seed gives byte-identical output", () => {
        const serialize = (seed: number) => {
            const w = createWorld({ seed, far: 20 });
            return JSON.stringify({ facts: w.facts, items: w.tasks.map((t) => w.items(t.task, Math.min(100, t.distinctQuestions))) });
        };
        const text = serialize(2024);
        expect(serialize(2024)).toBe(text);
        expect(serialize(2025)).not.toBe(text);
        expect(createHash("sha256").update(text).digest("hex")).toBe("0c6c785968340a224097481c2bbb71393d2115e33ddcce4814f4e25c241969e7");
    });

    it("keeps a task's items when more are asked for, and gives each task its own stream", () => {
        expect(world.items("rank.max2", 50)).toEqual(world.items("rank.max2", 120).slice(0, 50));
        const other = createWorld({ seed: 2024, lands: 30 });
        expect(other.items("rank.max2", 50)).toEqual(world.items("rank.max2", 50));
    });

    it("has the rank, spell, atlas, zoo and forge domains with at least 4 tasks each, and generates in well under a second", () => {
        const domains = new Map<string, number>();
        for (const t of world.tasks) domains.set(t.domain, (domains.get(t.domain) ?? 0) + 1);
        expect([...domains.keys()].sort()).toEqual(["atlas", "forge", "rank", "spell", "zoo"]);
        for (const [domain, count] of domains) expect(count, domain).toBeGreaterThanOrEqual(4);
        for (const t of world.tasks) expect(domainOf(t.task)).toBe(t.domain);
        // CPU time, not wall time: the cost of generating, whatever else the machine is running
        const start = process.cpuUsage();
        const fresh = createWorld({ seed: 99, far: 20 });
        for (const t of fresh.tasks) fresh.items(t.task, 300);
        const used = process.cpuUsage(start);
        expect((used.user + used.system) / 1000).toBeLessThan(1000);
    });

    it("asks every land and creature task twice, over the near entities and over the far ones; the forge has no far entities", () => {
        const names = world.tasks.map((t) => t.task);
        const far = names.filter(isFarTask);
        expect(far.length).toBeGreaterThan(0);
        for (const task of far) {
            expect(["atlas", "zoo"]).toContain(domainOf(task));
            expect(names).toContain(task.replace(".far.", "."));
        }
        for (const task of names.filter((t) => ["atlas", "zoo"].includes(domainOf(t)) && !isFarTask(t))) expect(names).toContain(task.replace(".", ".far."));
        expect(world.facts.lands.filter((l) => l.far)).toHaveLength(20);
        expect(world.facts.creatures.filter((c) => c.far)).toHaveLength(20);
        // the far ones are the last drawn
        expect(world.facts.lands.slice(-20).every((l) => l.far)).toBe(true);
        expect(world.facts.creatures.slice(-20).every((c) => c.far)).toBe(true);
        for (const task of far) {
            const info = world.tasks.find((t) => t.task === task)!;
            const near = world.tasks.find((t) => t.task === task.replace(".far.", "."))!;
            expect(info.distinctQuestions * 2, task).toBe(near.distinctQuestions); // 20 far and 40 near entities
        }
    });

    it("splits the entities into near and far without changing a fact, a question or a skill item", () => {
        const whole = createWorld({ seed: 2024 });
        const unflagged = <T extends { far: boolean }>(list: T[]) => list.map(({ far: _far, ...rest }) => rest);
        expect(unflagged(whole.facts.lands)).toEqual(unflagged(world.facts.lands));
        expect(unflagged(whole.facts.creatures)).toEqual(unflagged(world.facts.creatures));
        expect(whole.facts.devices).toEqual(world.facts.devices);
        expect(whole.facts.lands.some((l) => l.far) || whole.facts.creatures.some((c) => c.far)).toBe(false);
        // a check task's false claims are drawn at random, so only its true ones are fixed by the facts
        const questions = (w: typeof world, task: string) => {
            const count = w.tasks.find((t) => t.task === task)!.distinctQuestions;
            return w.items(task, count).filter((i) => !task.endsWith(".check") || i.choices[i.answer] === "yes").map((i) => i.question);
        };
        for (const t of world.tasks.filter((t) => ["atlas", "zoo"].includes(t.domain) && !isFarTask(t.task))) {
            const farTask = t.task.replace(".", ".far.");
            expect(questions(whole, farTask), farTask).toEqual([]);
            const split = [...questions(world, t.task), ...questions(world, farTask)];
            expect(new Set(split).size, t.task).toBe(split.length);
            expect(split.sort(), t.task).toEqual(questions(whole, t.task).sort());
        }
        for (const task of ["rank.max2", "rank.min", "spell.first", "spell.last", "forge.quiz"]) expect(world.items(task, 100), task).toEqual(whole.items(task, 100));
    });

    it("gives every item 2–5 distinct choices, a valid answer, a stable unique id and a short prompt", () => {
        const ids = new Set(allItems.map((i) => i.id));
        expect(ids.size).toBe(allItems.length);
        for (const item of allItems) {
            expect(item.source).toBe("world");
            expect(item.id).toMatch(new RegExp(`^world/${item.task.replaceAll(".", "\\.")}/\\d{6}$`));
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
        const skills = allItems.filter((i) => ["rank", "spell"].includes(domainOf(i.task)));
        expect(skills.length).toBeGreaterThan(1000);
        expect(solved).toBe(skills.length);
    });

    it("agrees with the fact table on every knowledge item, and asks a far task only about far entities", () => {
        const knowledge = allItems.filter((i) => ["atlas", "zoo", "forge"].includes(domainOf(i.task)));
        expect(knowledge.length).toBeGreaterThan(1000);
        const farNames = new Set([...world.facts.lands, ...world.facts.creatures].filter((e) => e.far).map((e) => e.name));
        for (const item of knowledge) {
            const solved = solveKnowledge(item);
            expect(solved, item.question).toBeDefined();
            expect(solved!.answer, item.question).toBeDefined();
            expect(item.choices[item.answer], item.question).toBe(solved!.answer);
            expect(farNames.has(solved!.entity), `${item.task}: ${item.question}`).toBe(isFarTask(item.task));
        }
    });

    it("has a distinct surface form per domain: the first word names the domain", () => {
        const prefixOf = new Map<string, Set<string>>();
        for (const item of allItems) {
            const domain = domainOf(item.task);
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
