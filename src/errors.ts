/**
 * An error meant for the user: its message is one line that names the file or option at fault,
 * what was expected and what was found. The CLI prints it without a stack trace.
 */
export class CrayonError extends Error {
    constructor(message: string, readonly exitCode: number = 1) {
        super(message);
        this.name = "CrayonError";
    }
}
