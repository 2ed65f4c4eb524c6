import { CrayonError } from "../errors.js";

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
