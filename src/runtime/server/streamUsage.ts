import type { ServerResponse } from "node:http";
import type { TokenCounts } from "./requestLog.js";

/**
 * Watches a chat completion stream as its chunks are written: counts the completion tokens (one content
 * chunk each, after the opening role chunk) into `counts` and, when the client asked for
 * `stream_options.include_usage`, writes OpenAI's closing usage chunk — empty `choices`, the request's
 * `usage` — just before `data: [DONE]`.
 */
export function watchChatStream(res: ServerResponse, promptTokens: number, includeUsage: boolean, counts: TokenCounts): void {
    const write = res.write.bind(res) as (chunk: string) => boolean;
    const end = res.end.bind(res) as (chunk?: string) => ServerResponse;
    let header: { id: string; created: number; model: string } | undefined;
    counts.promptTokens = promptTokens;
    counts.completionTokens = 0;
    res.write = ((chunk: string) => {
        const event = parseEvent(chunk);
        if (event !== undefined) {
            header = { id: event.id, created: event.created, model: event.model };
            const delta = event.choices[0]?.delta;
            if (delta?.content !== undefined && delta.role === undefined) counts.completionTokens!++;
        }
        return write(chunk);
    }) as ServerResponse["write"];
    res.end = ((chunk?: string) => {
        if (includeUsage && header !== undefined && typeof chunk === "string" && chunk.startsWith("data: [DONE]")) {
            const usage = { prompt_tokens: promptTokens, completion_tokens: counts.completionTokens, total_tokens: promptTokens + counts.completionTokens! };
            write(`data: ${JSON.stringify({ ...header, object: "chat.completion.chunk", choices: [], usage })}\n\n`);
        }
        return end(chunk);
    }) as ServerResponse["end"];
}

interface ChunkEvent {
    id: string;
    created: number;
    model: string;
    choices: { delta?: { role?: string; content?: string } }[];
}

function parseEvent(chunk: unknown): ChunkEvent | undefined {
    if (typeof chunk !== "string" || !chunk.startsWith("data: {")) return undefined;
    return JSON.parse(chunk.slice("data: ".length)) as ChunkEvent;
}
