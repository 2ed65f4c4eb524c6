import type { QaItem } from "../data/item.js";
import { OPTION_LETTERS } from "../data/prompt.js";

/**
 * A chat message as a multiple-choice item when it has lettered options — "question\nA. …\nB. …" or the
 * same on one line ("question A) … B) …") — with letters A, B, … in order; otherwise undefined (free text).
 * The answer index is unknown and set to 0.
 */
export function parseMultipleChoice(message: string): QaItem | undefined {
    const text = message.trim();
    const starts: number[] = [];
    let from = 0;
    for (const letter of OPTION_LETTERS) {
        const marker = new RegExp(`(^|\\s)${letter}[.)]\\s`, "g");
        marker.lastIndex = from;
        const match = marker.exec(text);
        if (match === null) break;
        const at = match.index + match[1]!.length;
        starts.push(at);
        from = at + 2;
    }
    if (starts.length < 2 || starts[0] === 0) return undefined;
    const question = text.slice(0, starts[0]).trim();
    const choices = starts.map((start, i) => text.slice(start + 2, starts[i + 1] ?? text.length).trim());
    if (question === "" || choices.some((choice) => choice === "")) return undefined;
    return { id: "chat", source: "chat", task: "chat", question, choices, answer: 0 };
}
