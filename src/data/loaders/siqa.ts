import path from "node:path";
import type { QaItem } from "../item.js";
import { dataError, readJsonLines, readLabelFile, stringField } from "./sourceFile.js";

/** Social IQa JSONL `{context, question, answerA, answerB, answerC}` with an aligned label file `1`/`2`/`3`. */
export async function loadSiqa(file: string, labelFile: string): Promise<QaItem[]> {
    const stem = path.basename(file, ".jsonl");
    const records = await readJsonLines(file);
    const labels = await readLabelFile(labelFile, file, records.length);
    return records.map(({ line, value }, i) => {
        const label = labels[i]!;
        if (!["1", "2", "3"].includes(label.value)) {
            throw dataError(labelFile, label.line, `unknown label ${JSON.stringify(label.value)}; expected 1, 2 or 3 (answerA/B/C)`);
        }
        return {
            id: `siqa/${stem}/${line - 1}`,
            source: "siqa",
            task: "siqa",
            question: stringField(value, "question", file, line),
            choices: ["answerA", "answerB", "answerC"].map((field) => stringField(value, field, file, line)),
            answer: Number(label.value) - 1,
            context: stringField(value, "context", file, line)
        };
    });
}
