import { randomBytes } from "node:crypto";
import { rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import type { QaItem } from "../data/item.js";
import { loadUserExamples } from "../data/loaders/userExamples.js";
import { CrayonError } from "../errors.js";
import { readGguf } from "../gguf/reader.js";
import { validateLlamaModel, validateLoraAdapter } from "../gguf/validate.js";

/** Option values typed on the command line, checked with a one-line error that names the option. */

export function integerOption(text: string, option: string, min = -Infinity): number {
    const value = Number(text);
    if (text.trim() === "" || !Number.isInteger(value) || value < min) {
        throw new CrayonError(`${option} must be ${min === -Infinity ? "an integer" : `an integer ≥ ${min}`}, found "${text}"`);
    }
    return value;
}

export function positiveNumberOption(text: string, option: string): number {
    const value = Number(text);
    if (!(value > 0 && Number.isFinite(value))) throw new CrayonError(`${option} must be a positive number, found "${text}"`);
    return value;
}

export function choiceOption<T extends string>(text: string, allowed: readonly T[], option: string): T {
    if (!(allowed as readonly string[]).includes(text)) throw new CrayonError(`${option} must be one of ${allowed.join(", ")}, found "${text}"`);
    return text as T;
}

/** A number in [min, max] (a probability: [0, 1]; a cosine similarity: [-1, 1]). */
export function numberInRangeOption(text: string, option: string, min: number, max: number): number {
    const value = Number(text);
    if (text.trim() === "" || !(value >= min && value <= max)) throw new CrayonError(`${option} must be a number from ${min} to ${max}, found "${text}"`);
    return value;
}

/** An http(s) URL such as http://127.0.0.1:8080/v1. */
export function urlOption(text: string, option: string): string {
    let url: URL;
    try {
        url = new URL(text);
    } catch {
        throw new CrayonError(`${option} must be a URL such as http://127.0.0.1:8080/v1, found "${text}"`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new CrayonError(`${option} must be an http:// or https:// URL, found "${text}"`);
    return text;
}

/** An existing regular file, checked before any work starts. */
export async function inputFileOption(file: string, option: string): Promise<string> {
    const found = await stat(file).catch(() => undefined);
    if (found === undefined) throw new CrayonError(`${option}: ${file} does not exist; check the path`);
    if (!found.isFile()) throw new CrayonError(`${option}: ${file} is not a file`);
    return file;
}

/** A user's examples file (.jsonl or .csv) holding at least one example. */
export async function examplesFileOption(file: string, option: string): Promise<QaItem[]> {
    const examples = await loadUserExamples(await inputFileOption(file, option));
    if (examples.length === 0) throw new CrayonError(`${file}: no examples; write one question with its choices and answer per line`);
    return examples;
}

/** A llama GGUF model, read and validated before any runtime starts: a damaged file is one line at once. */
export async function modelFileOption(file: string, option: string): Promise<string> {
    validateLlamaModel(await readGguf(await inputFileOption(file, option)));
    return file;
}

/** A LoRA adapter for the model `modelPath`, validated against it before any runtime starts. */
export async function adapterFileOption(file: string, option: string, modelPath: string): Promise<string> {
    validateLoraAdapter(await readGguf(await inputFileOption(file, option)), await readGguf(modelPath));
    return file;
}

/**
 * A folder the command will write into (created if missing), checked before any long work: every existing
 * part of the path is a folder, and a probe file can be created in the deepest existing one. Nothing is left behind.
 */
export async function outputFolderOption(dir: string, option: string): Promise<string> {
    let existing = path.resolve(dir);
    for (;;) {
        const found = await stat(existing).catch((error: NodeJS.ErrnoException) => {
            if (error.code === "ENOENT" || error.code === "ENOTDIR") return undefined; // ENOTDIR: a part above is a file, found next
            throw new CrayonError(`${option}: cannot use ${dir} (${error.code ?? error.message}); choose another folder`);
        });
        if (found !== undefined) {
            if (!found.isDirectory()) throw new CrayonError(`${option}: ${existing} is a file, not a folder; choose another path for ${dir}`);
            break;
        }
        existing = path.dirname(existing);
    }
    const probe = path.join(existing, `.crayon-write-probe-${process.pid}-${randomBytes(4).toString("hex")}`);
    try {
        await writeFile(probe, "", { flag: "wx" });
    } catch (error) {
        throw new CrayonError(`${option}: cannot write in ${existing} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); choose a folder you may write`);
    }
    await rm(probe, { force: true });
    return dir;
}

/**
 * A file the command will write (atomically, beside it): not a folder, and its folder writable — and
 * existing, unless the command creates it (`createsFolder`).
 */
export async function outputFileOption(file: string, option: string, { createsFolder = false }: { createsFolder?: boolean } = {}): Promise<string> {
    if ((await stat(file).catch(() => undefined))?.isDirectory()) throw new CrayonError(`${option}: ${file} is a folder; give a file name`);
    const folder = path.dirname(path.resolve(file));
    if (!createsFolder && !((await stat(folder).catch(() => undefined))?.isDirectory() ?? false)) {
        throw new CrayonError(`${option}: the folder ${folder} does not exist; create it or choose another path for ${path.basename(file)}`);
    }
    await outputFolderOption(folder, option);
    return file;
}
