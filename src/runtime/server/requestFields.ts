import { HttpError } from "./httpJson.js";

/** Typed reads of a request body's fields, each failing with a 400 that names the field. */
export function objectBody(body: unknown): Record<string, unknown> {
    if (typeof body !== "object" || body === null || Array.isArray(body)) throw new HttpError(400, "the request body must be a JSON object");
    return body as Record<string, unknown>;
}

export function integerField(body: Record<string, unknown>, name: string, fallback: number, min: number, max: number): number {
    const value = body[name] ?? fallback;
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
        throw new HttpError(400, `"${name}" must be an integer from ${min} to ${max}, found ${JSON.stringify(value)}`);
    }
    return value;
}

export function booleanField(body: Record<string, unknown>, name: string, fallback: boolean): boolean {
    const value = body[name] ?? fallback;
    if (typeof value !== "boolean") throw new HttpError(400, `"${name}" must be true or false, found ${JSON.stringify(value)}`);
    return value;
}

export function numberField(body: Record<string, unknown>, name: string, fallback: number, min: number, max: number): number {
    const value = body[name] ?? fallback;
    if (typeof value !== "number" || !(value >= min && value <= max)) {
        throw new HttpError(400, `"${name}" must be a number from ${min} to ${max}, found ${JSON.stringify(value)}`);
    }
    return value;
}

/** Fields a client may send that this server does not implement: refused rather than silently ignored. */
export function refuseFields(body: Record<string, unknown>, names: readonly string[]): void {
    for (const name of names) {
        const value = body[name];
        if (value !== undefined && value !== null && value !== false && !(name === "n" && value === 1)) {
            throw new HttpError(400, `"${name}" is not supported by this server`);
        }
    }
}
