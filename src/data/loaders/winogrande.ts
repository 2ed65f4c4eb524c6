import type { QaItem } from "../item.js";
import { dataError, readJsonLines, stringField } from "./sourceFile.js";

/**
 * WinoGrande JSONL `{qID, sentence, option1, option2, answer}`: the sentence has one blank `_`; each
 * choice is the sentence with the blank filled by one option, so a model compares two whole readings.
 */
export async function loadWinogrande(file: string): Promise<QaItem[]> {
    const records = await readJsonLines(file);
    return records.map(({ line, value }) => {
        const sentence = stringField(value, "sentence", file, line);
        const blanks = sentence.split("_").length - 1;
        if (blanks !== 1) throw dataError(file, line, `expected one blank "_" in the sentence, found ${blanks}`);
        const key = value.answer;
        if (key === undefined) {
            throw dataError(file, line, `no "answer": this split is unlabeled (WinoGrande test) and cannot be used for evaluation; use dev`);
        }
        if (key !== "1" && key !== "2") throw dataError(file, line, `unknown answer ${JSON.stringify(key)}; expected "1" or "2"`);
        const options = [stringField(value, "option1", file, line), stringField(value, "option2", file, line)];
        return {
            id: `winogrande/${stringField(value, "qID", file, line)}`,
            source: "winogrande",
            task: "winogrande",
            question: sentence,
            choices: options.map((option) => sentence.replace("_", option)),
            answer: Number(key) - 1
        };
    });
}
