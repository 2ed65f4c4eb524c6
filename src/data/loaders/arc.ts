import type { QaItem } from "../item.js";
import { dataError, readJsonLines, stringField } from "./sourceFile.js";

/**
 * ARC (Easy or Challenge) JSONL: `{id, question: {stem, choices: [{text, label}]}, answerKey}`.
 * Labels are mostly A–D but some items use 1–4, so the gold is found by matching the label, never by position.
 */
export async function loadArc(file: string, source: "arc-easy" | "arc-challenge"): Promise<QaItem[]> {
    const records = await readJsonLines(file);
    return records.map(({ line, value }) => {
        const id = stringField(value, "id", file, line);
        const question = value.question as { stem?: unknown; choices?: unknown } | undefined;
        if (typeof question?.stem !== "string" || !Array.isArray(question.choices)) {
            throw dataError(file, line, `expected "question": {"stem": string, "choices": [...]}`);
        }
        const choices = question.choices as { text?: unknown; label?: unknown }[];
        if (choices.some((c) => typeof c?.text !== "string" || typeof c?.label !== "string")) {
            throw dataError(file, line, `every choice needs a string "text" and "label"`);
        }
        const key = stringField(value, "answerKey", file, line);
        const answer = choices.findIndex((c) => c.label === key);
        if (answer < 0) {
            throw dataError(file, line, `unknown answer key ${JSON.stringify(key)}; the labels are ${choices.map((c) => c.label).join(", ")}`);
        }
        return {
            id: `${source}/${id}`,
            source,
            task: source,
            question: question.stem,
            choices: choices.map((c) => c.text as string),
            answer
        };
    });
}

