import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { CrayonError } from "../../src/errors.js";
import { loadArc } from "../../src/data/loaders/arc.js";
import { loadBoolq } from "../../src/data/loaders/boolq.js";
import { loadMmluFile } from "../../src/data/loaders/mmlu.js";
import { loadPiqa } from "../../src/data/loaders/piqa.js";
import { loadSiqa } from "../../src/data/loaders/siqa.js";
import { loadUserExamples } from "../../src/data/loaders/userExamples.js";
import { compileCli, runCrayon } from "./cli.js";

const dir = mkdtempSync(path.join(tmpdir(), "crayon-data-"));
function write(relative: string, text: string): string {
    const file = path.join(dir, relative);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text);
    return file;
}

/** Expects a one-line CrayonError that names the file (and the line, when given). */
async function expectDataError(promise: Promise<unknown>, file: string, line: number | undefined, reason: RegExp): Promise<void> {
    const error = await promise.then(
        () => undefined,
        (e: unknown) => e
    );
    expect(error).toBeInstanceOf(CrayonError);
    const message = (error as Error).message;
    expect(message).not.toContain("\n");
    expect(message.startsWith(line === undefined ? `${file}: ` : `${file}:${line}: `), message).toBe(true);
    expect(message).toMatch(reason);
}

const ARC_LINE = (key: string) =>
    JSON.stringify({ id: "q1", question: { stem: "Which?", choices: [{ text: "a", label: "A" }, { text: "b", label: "B" }] }, answerKey: key });

describe("malformed inputs give one-line errors naming the file and line", () => {
    it("bad CSV quoting", async () => {
        const file = write("mmlu/data/test/bad_test.csv", `Q one,a,b,c,d,A\n"Q two, unclosed,a,b,c,d,B\nQ three,a,b,c,d,C\n`);
        await expectDataError(loadMmluFile(file), file, 2, /malformed CSV: Quote Not Closed/);
    });

    it("a CSV row with the wrong number of columns or an unknown answer letter", async () => {
        const short = write("short_test.csv", `"Q, with comma",a,b,c,d,A\nQ two,a,b,c,D\n`);
        await expectDataError(loadMmluFile(short), short, 2, /expected 6 columns .* found 5/);
        const letter = write("letter_test.csv", `Q,a,b,c,d,A\n"multi\nline Q",a,b,c,d,F\n`);
        await expectDataError(loadMmluFile(letter), letter, 2, /unknown answer key "F"/);
    });

    it("a missing label file", async () => {
        const data = write("piqa/valid.jsonl", `{"goal":"g","sol1":"a","sol2":"b"}\n`);
        const labels = path.join(dir, "piqa", "valid-labels.lst");
        await expectDataError(loadPiqa(data, labels), labels, undefined, /label file for .*valid\.jsonl not found/);
    });

    it("a label count mismatch", async () => {
        const data = write("siqa/dev.jsonl", `{"context":"c","question":"q","answerA":"a","answerB":"b","answerC":"c"}\n`.repeat(3));
        const labels = write("siqa/dev-labels.lst", "1\n2\n");
        await expectDataError(loadSiqa(data, labels), labels, undefined, /has 2 labels but .*dev\.jsonl has 3 items/);
        const bad = write("siqa/bad-labels.lst", "1\n4\n2\n");
        await expectDataError(loadSiqa(data, bad), bad, 2, /unknown label "4"/);
    });

    it("an unknown answer key", async () => {
        const file = write("arc/ARC-Easy/ARC-Easy-Test.jsonl", `${ARC_LINE("A")}\n${ARC_LINE("C")}\n`);
        await expectDataError(loadArc(file, "arc-easy"), file, 2, /unknown answer key "C"; the labels are A, B/);
        const boolq = write("boolq/val.jsonl", `{"question":"q","passage":"p","idx":0,"label":"maybe"}\n`);
        await expectDataError(loadBoolq(boolq), boolq, 1, /unknown label "maybe"/);
    });

    it("a JSONL line that is not JSON", async () => {
        const file = write("broken.jsonl", `{"question":"q","choices":["a","b"],"answer":0}\n{"question": oops}\n`);
        await expectDataError(loadUserExamples(file), file, 2, /not valid JSON/);
    });

    it("a user example without an answer, or with one that reads two ways", async () => {
        const file = write("mine.jsonl", `{"question":"q1","choices":["a","b"],"answer":"B"}\n\n{"question":"q2","choices":["a","b"]}\n`);
        await expectDataError(loadUserExamples(file), file, 3, /missing "answer"/);
        const ambiguous = write("ambiguous.jsonl", `{"question":"q","choices":["B","A"],"answer":"A"}\n`);
        await expectDataError(loadUserExamples(ambiguous), ambiguous, 1, /ambiguous answer "A"/);
        const csv = write("mine.csv", `question,A,B,C,answer\n"What, exactly?",x,y,,z\n`);
        await expectDataError(loadUserExamples(csv), csv, 2, /unknown answer "z"/);
    });
});

describe("user examples in the normalized shape", () => {
    it("reads JSONL and CSV forgivingly: index, letter or choice text; optional id, source, task", async () => {
        const jsonl = write("pets.jsonl", [
            `{"question":"Zoo: what does the Kalo eat?","choices":["fish","seeds","fruit"],"answer":1}`,
            `{"question":"q2","choices":["red","blue"],"answer":"b","task":"colours"}`,
            `{"id":"x","source":"mine","question":"q3","choices":["red","blue"],"answer":"red","context":"ctx"}`
        ].join("\n"));
        const items = await loadUserExamples(jsonl);
        expect(items[0]).toEqual({ id: "user/pets/1", source: "user", task: "pets", question: "Zoo: what does the Kalo eat?", choices: ["fish", "seeds", "fruit"], answer: 1 });
        expect(items[1]).toMatchObject({ task: "colours", answer: 1 });
        expect(items[2]).toEqual({ id: "x", source: "mine", task: "pets", question: "q3", choices: ["red", "blue"], answer: 0, context: "ctx" });
        const csv = write("quiz.csv", `question,A,B,C,answer\n"Pick one, ""please""\nnow",x,y,,B\nq2,1,2,3,C\nq3,4,5,6,0\n`);
        const rows = await loadUserExamples(csv);
        expect(rows[0]).toMatchObject({ id: "user/quiz/2", question: `Pick one, "please"\nnow`, choices: ["x", "y"], answer: 1 });
        expect(rows.map((r) => [r.id, r.answer])).toEqual([["user/quiz/2", 1], ["user/quiz/4", 2], ["user/quiz/5", 0]]);
        // "2" is both the index 2 and the text of choice 1: it is refused, not guessed
        const twoWay = write("twoway.csv", `question,A,B,C,answer\nq,1,2,3,2\n`);
        await expectDataError(loadUserExamples(twoWay), twoWay, 2, /ambiguous answer "2"/);
    });
});

describe("through the CLI, a broken file is one line on stderr and a non-zero exit", () => {
    beforeAll(compileCli);
    const definition = (task: Record<string, unknown>) =>
        write(`bench-${Object.keys(task).join("")}-${Math.random().toString(36).slice(2)}.json`, JSON.stringify({
            format: "crayon-benchmark", formatVersion: 1, name: "broken", version: 1, description: "broken inputs", seed: 1,
            tasks: [{ task: "t", role: "out-of-scope", test: task }]
        }));
    const cases: [string, Record<string, unknown>, RegExp][] = [
        ["bad CSV quoting", { dataset: "mmlu", split: "test", subjects: ["bad"] }, /bad_test\.csv:2: malformed CSV/],
        ["missing label file", { dataset: "piqa", split: "valid" }, /valid-labels\.lst: label file .* not found/],
        ["label count mismatch", { dataset: "siqa", split: "dev" }, /dev-labels\.lst: has 2 labels/],
        ["unknown answer key", { dataset: "arc-easy", split: "test" }, /ARC-Easy-Test\.jsonl:2: unknown answer key/],
        ["unlabeled split", { dataset: "winogrande", split: "test" }, /winogrande split "test" has no public labels/]
    ];
    for (const [name, selection, message] of cases) {
        it(name, () => {
            const result = runCrayon(["benchmark", definition(selection), "--data-dir", dir]);
            expect(result.status).not.toBe(0);
            expect(result.stderr.trim().split("\n")).toHaveLength(1);
            expect(result.stderr).toMatch(message);
        });
    }
});
