import { CrayonError } from "../errors.js";

// Names and keys come from the file itself: keep the message on one line whatever they contain.
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/g;

/** `<path>: <problem>[ — <what to do>]`, kept on one line whatever names from a file it quotes. */
export function fileProblemMessage(path: string, problem: string, hint?: string): string {
    const text = hint ? `${path}: ${problem} — ${hint}` : `${path}: ${problem}`;
    return text.replace(CONTROL_CHARACTERS, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

/**
 * A GGUF file that cannot be read or is not what the caller needs. The message is one line:
 * `<path>: <problem>[ — <what to do>]`.
 */
export class GgufError extends CrayonError {
    constructor(readonly path: string, readonly problem: string, readonly hint?: string) {
        super(fileProblemMessage(path, problem, hint));
        this.name = "GgufError";
    }
}
