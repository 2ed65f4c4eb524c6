import { HttpError } from "./server/httpJson.js";

export interface ChatMessage {
    role: "system" | "user" | "assistant";
    content: string;
}

const ROLE_LABEL: Record<ChatMessage["role"], string> = { system: "System", user: "User", assistant: "Assistant" };

/**
 * A plain transcript template for models without a chat template of their own (the embedded ones):
 * "User: …" lines, ending with "Assistant:" for the model to continue.
 */
export function renderChatPrompt(messages: readonly ChatMessage[]): string {
    return [...messages.map((m) => `${ROLE_LABEL[m.role]}: ${m.content}`), `${ROLE_LABEL.assistant}:`].join("\n");
}

/** Validates `messages`: roles system/user/assistant, content a string or text parts. */
export function parseChatMessages(value: unknown): ChatMessage[] {
    if (!Array.isArray(value) || value.length === 0) throw new HttpError(400, `"messages" must be a non-empty list`);
    return value.map((message, i) => {
        const { role, content } = (message ?? {}) as { role?: unknown; content?: unknown };
        if (role !== "system" && role !== "user" && role !== "assistant" && role !== "developer") {
            throw new HttpError(400, `messages[${i}].role must be system, user or assistant, found ${JSON.stringify(role)}`);
        }
        return { role: role === "developer" ? "system" : role, content: contentText(content, i) };
    });
}

function contentText(content: unknown, index: number): string {
    if (typeof content === "string") return content;
    if (Array.isArray(content) && content.every((part) => part?.type === "text" && typeof part.text === "string")) {
        return content.map((part: { text: string }) => part.text).join("");
    }
    throw new HttpError(400, `messages[${index}].content must be a string or a list of text parts`);
}
