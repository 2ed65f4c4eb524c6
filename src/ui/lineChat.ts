import { createInterface } from "node:readline";
import type { ChatLine, ChatSession } from "./chatSession.js";

/** One chat line as plain text: `[device 0.83] B. …`; always a single line. */
export function formatChatLine(line: ChatLine): string {
    const text = line.text.replace(/\s*\n\s*/g, " ");
    if (line.kind === "answer") return `[${line.tag}] ${text}`;
    if (line.kind === "error") return `error: ${text}`;
    return text;
}

/**
 * The chat without a terminal: one message per input line, one answer per output line, so scripts and
 * tests can drive it. Slash commands work as in the terminal UI; the session ends at /quit or end of input.
 * Returns how many messages failed (got an error instead of an answer).
 */
export async function runLineChat(session: ChatSession, input: NodeJS.ReadableStream, output: NodeJS.WritableStream): Promise<number> {
    const lines = createInterface({ input, crlfDelay: Infinity });
    let failures = 0;
    for await (const message of lines) {
        const { lines: reply, quit, failed } = await session.handle(message);
        for (const line of reply) output.write(`${formatChatLine(line)}\n`);
        if (failed) failures++;
        if (quit) break;
    }
    lines.close();
    return failures;
}
