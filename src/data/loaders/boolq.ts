import path from "node:path";
import type { QaItem } from "../item.js";
import { dataError, readJsonLines, stringField } from "./sourceFile.js";

/** Yes first, so that answer 0 means "true" whatever the label encoding. */
const BOOLQ_CHOICES = ["yes", "no"];

/**
 * BoolQ JSONL `{question, passage, idx, label}`; the passage becomes the context. The label is a JSON
 * boolean in the original release and the string "true"/"false" in the SuperGLUE copy — both are read.
 */
export async function loadBoolq(file: string): Promise<QaItem[]> {
    const stem = path.basename(file, ".jsonl");
    const records = await readJsonLines(file);
    return records.map(({ line, value }) => {
        const label = value.label;
        let truth: boolean;
        if (label === true || label === "true") truth = true;
        else if (label === false || label === "false") truth = false;
        else if (label === undefined) throw dataError(file, line, `no "label": this split is unlabeled and cannot be used for evaluation`);
        else throw dataError(file, line, `unknown label ${JSON.stringify(label)}; expected true/false or "true"/"false"`);
        const idx = typeof value.idx === "number" ? value.idx : line - 1;
        return {
            id: `boolq/${stem}/${idx}`,
            source: "boolq",
            task: "boolq",
            question: stringField(value, "question", file, line),
            choices: [...BOOLQ_CHOICES],
            answer: truth ? 0 : 1,
            context: stringField(value, "passage", file, line)
        };
    });
}
