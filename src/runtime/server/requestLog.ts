/** One served request as the server's log shows it: never the prompt or the answer, only their sizes. */
export interface RequestLogEntry {
    method: string;
    /** the route without its query string */
    path: string;
    status: number;
    /** from the request's arrival to the last byte of the response */
    ms: number;
    promptTokens?: number;
    completionTokens?: number;
}

/** Token counts of a request, filled in by its handler once known. */
export type TokenCounts = Pick<RequestLogEntry, "promptTokens" | "completionTokens">;

/** `POST /v1/chat/completions 200 153 ms 12+34 tokens` */
export function formatRequestLog(entry: RequestLogEntry): string {
    const tokens = entry.promptTokens === undefined ? "" : ` ${entry.promptTokens}+${entry.completionTokens ?? 0} tokens`;
    return `${entry.method} ${entry.path} ${entry.status} ${Math.round(entry.ms)} ms${tokens}`;
}
