import path from "node:path";
import type { QaItem } from "../item.js";
import { dataError, readJsonLines, readLabelFile, stringField } from "./sourceFile.js";

/** PIQA JSONL `{goal, sol1, sol2}` with an aligned label file: `0` = sol1, `1` = sol2. */
export async function loadPiqa(file: string, labelFile: string): Promise<QaItem[]> {
    const stem = path.basename(file, ".jsonl");
    const records = await readJsonLines(file);
    const labels = await readLabelFile(labelFile, file, records.length);
    return records.map(({ line, value }, i) => {
        const label = labels[i]!;
        if (label.value !== "0" && label.value !== "1") {
            throw dataError(labelFile, label.line, `unknown label ${JSON.stringify(label.value)}; expected 0 (sol1) or 1 (sol2)`);
        }
        return {
            id: `piqa/${stem}/${line - 1}`,
            source: "piqa",
            task: "piqa",
            question: stringField(value, "goal", file, line),
            choices: [stringField(value, "sol1", file, line), stringField(value, "sol2", file, line)],
            answer: Number(label.value)
        };
    });
}
