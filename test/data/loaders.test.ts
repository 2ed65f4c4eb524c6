import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadArc } from "../../src/data/loaders/arc.js";
import { loadBoolq } from "../../src/data/loaders/boolq.js";
import { loadMmluFile, loadMmluSplit, mmluSubjects } from "../../src/data/loaders/mmlu.js";
import { loadPiqa } from "../../src/data/loaders/piqa.js";
import { loadPublicSplit } from "../../src/data/loaders/publicDatasets.js";
import { loadSiqa } from "../../src/data/loaders/siqa.js";
import { loadWinogrande } from "../../src/data/loaders/winogrande.js";
import type { QaItem } from "../../src/data/item.js";
import { hasQaData, qaDataDir, skipReason } from "./qaData.js";

const file = (...parts: string[]) => path.join(qaDataDir, ...parts);
const byId = (items: QaItem[], id: string) => {
    const item = items.find((i) => i.id === id);
    if (item === undefined) throw new Error(`no item ${id}`);
    return item;
};
const gold = (item: QaItem) => item.choices[item.answer];

function expectWellFormed(items: QaItem[]): void {
    const ids = new Set(items.map((i) => i.id));
    expect(ids.size).toBe(items.length);
    for (const item of items) {
        expect(item.choices.length).toBeGreaterThanOrEqual(2);
        expect(Number.isInteger(item.answer) && item.answer >= 0 && item.answer < item.choices.length).toBe(true);
    }
}

describe.skipIf(!hasQaData)(`public dataset loaders (${hasQaData ? qaDataDir : skipReason})`, () => {
    it("MMLU: 57 subjects, dev 285 / val 1,531 / test 14,042, quoted fields kept whole", async () => {
        const mmlu = file("mmlu");
        expect(await mmluSubjects(mmlu, "test")).toHaveLength(57);
        expect(await loadMmluSplit(mmlu, "dev")).toHaveLength(285);
        expect(await loadMmluSplit(mmlu, "val")).toHaveLength(1531);
        const test = await loadMmluSplit(mmlu, "test");
        expect(test).toHaveLength(14042);
        expectWellFormed(test);
        const letters = [0, 1, 2, 3].map((i) => test.filter((item) => item.answer === i).length);
        expect(letters).toEqual([3222, 3462, 3582, 3776]);

        const algebra = await loadMmluFile(file("mmlu", "data", "test", "abstract_algebra_test.csv"));
        expect(algebra).toHaveLength(100);
        expect(algebra[0]).toMatchObject({ task: "abstract_algebra", source: "mmlu", choices: ["0", "4", "2", "6"], answer: 1 });
        // commas inside quoted options
        expect(algebra[2]!.choices).toEqual(["0", "1", "0,1", "0,4"]);
        expect(algebra[2]!.answer).toBe(3);
        // a question spanning several lines
        const biology = byId(test, "mmlu/college_biology_test/0013");
        expect(biology.question).toMatch(/^A cell nucleus contains which of the following\?\nI\. DNA\nII\. P/);
        expect(biology.choices[0]).toBe("I only");
        expect(biology.answer).toBe(3);
        expect((await loadMmluSplit(mmlu, "test", ["professional_law"])).length).toBe(1534);
    });

    it("ARC: Challenge 1,119/299/1,172 and Easy 2,251/570/2,376; numeric and E labels mapped by label", async () => {
        const counts: [string, string, number][] = [
            ["ARC-Challenge", "Train", 1119], ["ARC-Challenge", "Dev", 299], ["ARC-Challenge", "Test", 1172],
            ["ARC-Easy", "Train", 2251], ["ARC-Easy", "Dev", 570], ["ARC-Easy", "Test", 2376]
        ];
        for (const [set, split, count] of counts) {
            const items = await loadArc(file("arc", set, `${set}-${split}.jsonl`), set === "ARC-Easy" ? "arc-easy" : "arc-challenge");
            expect(items, `${set}-${split}`).toHaveLength(count);
            expectWellFormed(items);
        }
        const easy = await loadArc(file("arc", "ARC-Easy", "ARC-Easy-Test.jsonl"), "arc-easy");
        expect(gold(byId(easy, "arc-easy/Mercury_417466"))).toBe("Sunlight is the source of energy for nearly all ecosystems.");
        const fiveWay = byId(easy, "arc-easy/TIMSS_2003_4_pg35");
        expect(fiveWay.choices).toHaveLength(5);
        expect(gold(fiveWay)).toBe("oxygen");
        const challenge = await loadArc(file("arc", "ARC-Challenge", "ARC-Challenge-Test.jsonl"), "arc-challenge");
        expect(gold(byId(challenge, "arc-challenge/NYSEDREGENTS_2008_8_34"))).toBe("Kinetic energy increases and potential energy decreases.");
        expect(gold(byId(challenge, "arc-challenge/NYSEDREGENTS_2008_8_11"))).toBe("dead organisms");
    });

    it("BoolQ val: 3,270 items (2,033 yes / 1,237 no), passage as context", async () => {
        const items = await loadBoolq(file("boolq", "val.jsonl"));
        expect(items).toHaveLength(3270);
        expect(items.filter((i) => gold(i) === "yes")).toHaveLength(2033);
        expect(items[0]).toMatchObject({ id: "boolq/val/0", question: "does ethanol take more energy make that produces", answer: 1 });
        expect(items[0]!.context).toMatch(/^Ethanol fuel -- All biomass/);
        expect(gold(items[1]!)).toBe("yes");
    });

    it("PIQA valid: 1,838 items with aligned labels (910 sol1 / 928 sol2); the unlabeled test split is refused", async () => {
        const items = await loadPiqa(file("piqa", "valid.jsonl"), file("piqa", "valid-labels.lst"));
        expect(items).toHaveLength(1838);
        expect(items.filter((i) => i.answer === 0)).toHaveLength(910);
        expect(gold(items[0]!)).toMatch(/bedding made of ripped paper strips/);
        expect(items[1]).toMatchObject({ question: "dresser", answer: 1 });
        await expect(loadPublicSplit(qaDataDir, "piqa", "tests")).rejects.toThrow(/no public labels.*cannot be used for evaluation/);
    });

    it("Social IQa: train 33,410 and dev 1,954 with labels 1/2/3", async () => {
        expect(await loadSiqa(file("siqa", "train.jsonl"), file("siqa", "train-labels.lst"))).toHaveLength(33410);
        const dev = await loadSiqa(file("siqa", "dev.jsonl"), file("siqa", "dev-labels.lst"));
        expect(dev).toHaveLength(1954);
        expect([0, 1, 2].map((i) => dev.filter((item) => item.answer === i).length)).toEqual([643, 654, 657]);
        expect(dev[0]).toMatchObject({ context: "Tracy didn't go home that evening and resisted Riley's attacks.", question: "What does Tracy need to do before this?" });
        expect(gold(dev[0]!)).toBe("Find somewhere to go");
        expect(gold(dev[1]!)).toBe("sympathetic");
    });

    it("WinoGrande: dev 1,267, train_s/m/l 640/2,558/10,234, blank filled per option; test refused", async () => {
        const counts: [string, number][] = [["dev", 1267], ["train_s", 640], ["train_m", 2558], ["train_l", 10234]];
        for (const [split, count] of counts) expect(await loadWinogrande(file("winogrande", `${split}.jsonl`)), split).toHaveLength(count);
        const dev = await loadWinogrande(file("winogrande", "dev.jsonl"));
        expectWellFormed(dev);
        expect(dev[0]).toMatchObject({
            id: "winogrande/3FCO4VKOZ4BJQ6IFC0VAIBK4KTWE7U-2",
            question: "Sarah was a much better surgeon than Maria so _ always got the easier cases.",
            answer: 1
        });
        expect(gold(dev[0]!)).toBe("Sarah was a much better surgeon than Maria so Maria always got the easier cases.");
        expect(gold(dev[1]!)).toBe("Sarah was a much better surgeon than Maria so Sarah always got the harder cases.");
        await expect(loadWinogrande(file("winogrande", "test.jsonl"))).rejects.toThrow(/test\.jsonl:1: .*unlabeled/);
        await expect(loadPublicSplit(qaDataDir, "winogrande", "test")).rejects.toThrow(/no public labels/);
    });
});
