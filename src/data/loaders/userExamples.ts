import path from "node:path";
import type { QaItem } from "../item.js";
import { OPTION_LETTERS } from "../prompt.js";
import { dataError, readCsvRows, readJsonLines } from "./sourceFile.js";

/**
 * A user's own examples in the normalized shape, one per JSONL line (`{"question", "choices", "answer"}`)
 * or CSV row (header `question,A,B,C,…,answer`). `id`, `source`, `task`, `context` are optional.
 */
export async function loadUserExamples(file: string): Promise<QaItem[]> {
    const extension = path.extname(file).toLowerCase();
    const name = path.basename(file, extension);
    const defaults = (line: number) => ({ id: `user/${name}/${line}`, source: "user", task: name });
    if (extension === ".jsonl" || extension === ".json") {
        const records = await readJsonLines(file);
        return records.map(({ line, value }) => toItem(value, defaults(line), file, line));
    }
    if (extension === ".csv") {
        const [header, ...rows] = await readCsvRows(file);
        if (header === undefined) return [];
        const columns = header.value.map((column) => column.trim());
        return rows.map(({ line, value }) => {
            if (value.length !== columns.length) {
                throw dataError(file, line, `expected ${columns.length} columns as in the header, found ${value.length}`);
            }
            return toItem(csvRecord(columns, value, file), defaults(line), file, line);
        });
    }
    throw dataError(file, undefined, `unknown example file type "${extension}"; use .jsonl or .csv`);
}

const TEXT_FIELDS = ["id", "source", "task", "question", "context"] as const;

/** CSV columns → the JSONL record shape: option columns named A, B, C, … in order, empty trailing ones dropped; names in any case. */
function csvRecord(columns: string[], fields: string[], file: string): Record<string, unknown> {
    const record: Record<string, unknown> = {};
    const choices: string[] = [];
    columns.forEach((column, i) => {
        const letterIndex = OPTION_LETTERS.indexOf(column.toUpperCase() as (typeof OPTION_LETTERS)[number]);
        const field = column.toLowerCase();
        if (letterIndex >= 0) choices[letterIndex] = fields[i]!;
        else if (field === "answer" || (TEXT_FIELDS as readonly string[]).includes(field)) {
            if (fields[i] !== "") record[field] = fields[i];
        } else throw dataError(file, 1, `unknown column "${column}"; expected question, A, B, …, answer and optionally id, source, task, context`);
    });
    while (choices.length > 0 && (choices[choices.length - 1] ?? "") === "") choices.pop();
    if (choices.some((choice) => choice === undefined)) throw dataError(file, 1, "option columns must be A, B, C, … without gaps");
    record.choices = choices;
    return record;
}

function toItem(record: Record<string, unknown>, defaults: { id: string; source: string; task: string }, file: string, line: number): QaItem {
    for (const field of TEXT_FIELDS) {
        if (record[field] !== undefined && typeof record[field] !== "string") {
            throw dataError(file, line, `"${field}" must be a string, found ${JSON.stringify(record[field])}`);
        }
    }
    if (typeof record.question !== "string" || record.question.trim() === "") throw dataError(file, line, `missing "question"`);
    const choices = record.choices;
    if (!Array.isArray(choices) || choices.length < 2 || choices.some((c) => typeof c !== "string")) {
        throw dataError(file, line, `"choices" must be a list of at least 2 strings`);
    }
    if (choices.length > OPTION_LETTERS.length) throw dataError(file, line, `at most ${OPTION_LETTERS.length} choices are supported, found ${choices.length}`);
    const item: QaItem = {
        id: (record.id as string | undefined) ?? defaults.id,
        source: (record.source as string | undefined) ?? defaults.source,
        task: (record.task as string | undefined) ?? defaults.task,
        question: record.question,
        choices: choices as string[],
        answer: resolveAnswer(record.answer, choices as string[], file, line)
    };
    if (record.context !== undefined) item.context = record.context as string;
    return item;
}

/**
 * The gold index from an answer written as a 0-based index, a letter (A, b, …) or the text of a choice.
 * Forgiving about the form, exact about the meaning: if two readings point at different options it is an error.
 */
function resolveAnswer(answer: unknown, choices: readonly string[], file: string, line: number): number {
    if (answer === undefined || answer === null || answer === "") throw dataError(file, line, `missing "answer" (an index, a letter or the text of a choice)`);
    if (typeof answer === "number") {
        if (Number.isInteger(answer) && answer >= 0 && answer < choices.length) return answer;
        throw dataError(file, line, `answer index ${answer} is out of range for ${choices.length} choices (0-based)`);
    }
    if (typeof answer !== "string") throw dataError(file, line, `answer must be an index, a letter or a choice text, found ${JSON.stringify(answer)}`);
    const text = answer.trim();
    const readings = new Set<number>();
    const letter = OPTION_LETTERS.indexOf(text.toUpperCase() as (typeof OPTION_LETTERS)[number]);
    if (letter >= 0 && letter < choices.length) readings.add(letter);
    if (/^\d+$/.test(text) && Number(text) < choices.length) readings.add(Number(text));
    const byText = choices.indexOf(text);
    if (byText >= 0) readings.add(byText);
    if (readings.size === 1) return [...readings][0]!;
    const lastLetter = OPTION_LETTERS[choices.length - 1];
    if (readings.size === 0) {
        throw dataError(file, line, `unknown answer ${JSON.stringify(answer)}; expected a letter A–${lastLetter}, an index 0–${choices.length - 1} or the text of a choice`);
    }
    throw dataError(file, line, `ambiguous answer ${JSON.stringify(answer)}: it reads as more than one choice; write the 0-based index as a number`);
}
