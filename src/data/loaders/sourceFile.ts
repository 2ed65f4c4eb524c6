import { readFile } from "node:fs/promises";
import { parse } from "csv-parse/sync";
import { CrayonError } from "../../errors.js";

/** A user-facing error that points at a file and, where it applies, a 1-based line. */
export function dataError(file: string, line: number | undefined, message: string): CrayonError {
    return new CrayonError(line === undefined ? `${file}: ${message}` : `${file}:${line}: ${message}`);
}

export async function readText(file: string, what = "data file"): Promise<string> {
    try {
        return await readFile(file, "utf8");
    } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "ENOENT") throw dataError(file, undefined, `${what} not found`);
        throw dataError(file, undefined, `cannot read ${what} (${code ?? String(error)})`);
    }
}

export interface NumberedLine<T> {
    /** 1-based line number in the file. */
    line: number;
    value: T;
}

/** One JSON object per non-empty line; a line that is not a JSON object is an error naming it. */
export async function readJsonLines(file: string): Promise<NumberedLine<Record<string, unknown>>[]> {
    const lines = splitLines(await readText(file));
    const records: NumberedLine<Record<string, unknown>>[] = [];
    lines.forEach((text, i) => {
        if (text.trim() === "") return;
        let value: unknown;
        try {
            value = JSON.parse(text);
        } catch (error) {
            throw dataError(file, i + 1, `not valid JSON (${(error as Error).message})`);
        }
        if (typeof value !== "object" || value === null || Array.isArray(value)) {
            throw dataError(file, i + 1, "expected a JSON object on this line");
        }
        records.push({ line: i + 1, value: value as Record<string, unknown> });
    });
    return records;
}

/**
 * A label file aligned line by line with its data file (PIQA, Social IQa): one label per line,
 * and exactly as many labels as the data file has items.
 */
export async function readLabelFile(file: string, dataFile: string, expectedCount: number): Promise<NumberedLine<string>[]> {
    const lines = splitLines(await readText(file, `label file for ${dataFile}`));
    while (lines.length > 0 && lines[lines.length - 1]!.trim() === "") lines.pop();
    if (lines.length !== expectedCount) {
        throw dataError(file, undefined, `has ${lines.length} labels but ${dataFile} has ${expectedCount} items; the two files must be aligned line by line`);
    }
    return lines.map((text, i) => ({ line: i + 1, value: text.trim() }));
}

/** CSV records with the line each starts on; quoted fields may hold commas, quotes and newlines. */
export async function readCsvRows(file: string): Promise<NumberedLine<string[]>[]> {
    const text = await readText(file);
    let parsed: { record: string[]; raw: string; info: { lines: number } }[];
    try {
        // with info and raw, each record comes back as {record, raw, info}; relax_quotes keeps a stray quote
        // inside an unquoted field as text (MMLU val has one) while an unclosed quoted field stays an error
        parsed = parse(text, { info: true, raw: true, skip_empty_lines: true, relax_column_count: true, relax_quotes: true, bom: true }) as unknown as typeof parsed;
    } catch (error) {
        const { code, lines, bytes_records } = error as { code?: string; lines?: number; bytes_records?: number };
        let line = lines;
        // an unclosed quote is only noticed at the end of the file: point at the record it opened in
        if (code === "CSV_QUOTE_NOT_CLOSED" && bytes_records !== undefined) {
            line = Buffer.from(text).subarray(0, bytes_records).toString("utf8").split("\n").length;
        }
        const reason = (error as Error).message.replace(/ at line \d+/, "");
        throw dataError(file, line, `malformed CSV: ${reason}`);
    }
    return parsed.map(({ record, raw, info }) => {
        // info.lines is where the record ends; count back over the newlines inside its quoted fields
        const body = raw.replace(/^(\r?\n)+/, "").replace(/\r?\n$/, "");
        const inner = body.split("\n").length - 1;
        return { line: info.lines - inner, value: record };
    });
}

function splitLines(text: string): string[] {
    const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
    if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
    return lines;
}

/** Reads a string field of a JSONL record, or fails naming the file, line and field. */
export function stringField(record: Record<string, unknown>, field: string, file: string, line: number): string {
    const value = record[field];
    if (typeof value !== "string") {
        throw dataError(file, line, `expected a string field "${field}", found ${value === undefined ? "none" : JSON.stringify(value)}`);
    }
    return value;
}
