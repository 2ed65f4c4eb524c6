import { describe, expect, it } from "vitest";
import type { QaItem } from "../../src/data/item.js";
import { allChoiceRotations, rotateChoices } from "../../src/train/choiceRotations.js";

const item: QaItem = { id: "t/1", source: "t", task: "t", question: "Clock: Friday plus 8 days?", choices: ["Sunday", "Saturday", "Friday", "Tuesday"], answer: 1 };

describe("option rotations", () => {
    it("moves every option, the answer with it, and keeps the rest of the item", () => {
        const turned = rotateChoices(item, 1);
        expect(turned.choices).toEqual(["Tuesday", "Sunday", "Saturday", "Friday"]);
        expect(turned.choices[turned.answer]).toBe("Saturday");
        expect({ ...turned, choices: item.choices, answer: item.answer }).toEqual(item);
        expect(rotateChoices(item, 4)).toEqual(item);
    });

    it("puts each answer behind each letter exactly once", () => {
        const twoWay: QaItem = { ...item, id: "t/2", choices: ["yes", "no"], answer: 0 };
        const all = allChoiceRotations([item, twoWay]);
        expect(all).toHaveLength(6);
        expect(all.slice(0, 4).map((i) => i.answer).sort()).toEqual([0, 1, 2, 3]);
        expect(all.slice(4).map((i) => i.choices)).toEqual([["yes", "no"], ["no", "yes"]]);
        for (const rotated of all) expect(rotated.choices[rotated.answer]).toBe(rotated.id === "t/1" ? "Saturday" : "yes");
    });
});
