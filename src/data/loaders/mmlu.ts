import { readdir } from "node:fs/promises";
import path from "node:path";
import type { QaItem } from "../item.js";
import { dataError, readCsvRows } from "./sourceFile.js";

const ANSWER_LETTERS = ["A", "B", "C", "D"];

/**
 * One MMLU subject file: headerless CSV `question,A,B,C,D,answer`, gold = the letter in column 6.
 * The subject (the item's task) comes from the file name `<subject>_<split>.csv`.
 */
export async function loadMmluFile(file: string): Promise<QaItem[]> {
    const stem = path.basename(file, ".csv");
    const subject = stem.replace(/_(dev|val|test)$/, "");
    const rows = await readCsvRows(file);
    return rows.map(({ line, value: fields }, row) => {
        if (fields.length !== 6) {
            throw dataError(file, line, `expected 6 columns (question,A,B,C,D,answer), found ${fields.length}`);
        }
        const key = fields[5]!.trim();
        const answer = ANSWER_LETTERS.indexOf(key);
        if (answer < 0) throw dataError(file, line, `unknown answer key ${JSON.stringify(key)}; expected A, B, C or D`);
        return {
            id: `mmlu/${stem}/${String(row).padStart(4, "0")}`,
            source: "mmlu",
            task: subject,
            question: fields[0]!,
            choices: fields.slice(1, 5),
            answer
        };
    });
}

/** The subjects present for a split, from the file names in `<mmluDir>/data/<split>/`. */
export async function mmluSubjects(mmluDir: string, split: string): Promise<string[]> {
    const dir = path.join(mmluDir, "data", split);
    let names: string[];
    try {
        names = await readdir(dir);
    } catch {
        throw dataError(dir, undefined, `MMLU split folder not found (expected <subject>_${split}.csv files here)`);
    }
    const suffix = `_${split}.csv`;
    return names.filter((name) => name.endsWith(suffix)).map((name) => name.slice(0, -suffix.length)).sort();
}

/** All items of an MMLU split, subject by subject in alphabetical order (or only the given subjects). */
export async function loadMmluSplit(mmluDir: string, split: string, subjects?: readonly string[]): Promise<QaItem[]> {
    const chosen = subjects ?? (await mmluSubjects(mmluDir, split));
    const items: QaItem[] = [];
    for (const subject of chosen) {
        items.push(...(await loadMmluFile(path.join(mmluDir, "data", split, `${subject}_${split}.csv`))));
    }
    return items;
}
