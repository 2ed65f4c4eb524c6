import { CrayonError } from "../errors.js";

/** A Node system error: `code` says what failed, `path` or `address`/`port` say where. */
interface SystemError extends Error {
    code: string;
    syscall?: string;
    path?: string;
    dest?: string;
    address?: string;
    port?: number;
    hostname?: string;
}

function isSystemError(error: unknown): error is SystemError {
    return error instanceof Error && typeof (error as { code?: unknown }).code === "string";
}

/** What each file-system failure means for the user, and what to do about it. */
const FILE_PROBLEMS: Record<string, string> = {
    EACCES: "permission denied; choose a path you may write, or change its permissions",
    EPERM: "operation not permitted; choose another path",
    EROFS: "read-only file system; choose a folder on a writable disk",
    ENOENT: "no such file or folder",
    ENOTDIR: "a part of this path is a file, not a folder; choose another path",
    EISDIR: "this is a folder; give a file",
    EEXIST: "already exists; remove it or choose another path",
    ENOSPC: "no space left on the disk; free some space or choose another disk",
    EMFILE: "too many open files; raise the limit (ulimit -n)"
};

/**
 * The one line a failed command prints on stderr, and its exit code, whatever was thrown: the user sees
 * what went wrong and what to do, never a stack trace. `CRAYON_DEBUG=1` adds the stack for a bug report.
 */
export function errorLine(error: unknown): { line: string; exitCode: number } {
    if (error instanceof CrayonError) return { line: oneLine(error.message), exitCode: error.exitCode };
    if (isSystemError(error)) {
        const where = error.path ?? (error.address === undefined ? undefined : `${error.address}${error.port === undefined ? "" : `:${error.port}`}`);
        const problem = FILE_PROBLEMS[error.code];
        if (problem !== undefined && where !== undefined) return { line: oneLine(`${where}: ${problem} (${error.code})`), exitCode: 1 };
        if (error.code === "EADDRINUSE") return { line: `${where ?? "the address"} is already in use; choose another --port (0 picks a free one)`, exitCode: 1 };
        if (error.code === "EADDRNOTAVAIL") return { line: `cannot listen on ${where ?? "that address"}: it is not an address of this machine; use 127.0.0.1, 0.0.0.0 or one of its own addresses`, exitCode: 1 };
        if (error.code === "ENOTFOUND") return { line: `host ${error.hostname ?? where ?? ""} not found; check the name`, exitCode: 1 };
        return { line: oneLine(error.message), exitCode: 1 };
    }
    const message = error instanceof Error ? error.message : String(error);
    return { line: `internal error: ${oneLine(message)} (a bug: please report it with the output of crayon info; CRAYON_DEBUG=1 shows where it happened)`, exitCode: 70 };
}

function oneLine(text: string): string {
    return text.trim().replace(/\s*\n\s*/g, "; ");
}
