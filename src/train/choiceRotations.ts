import type { QaItem } from "../data/item.js";

/** The item with its options turned `shift` places: option i moves to place (i + shift) mod n, the answer with it. */
export function rotateChoices(item: QaItem, shift: number): QaItem {
    const n = item.choices.length;
    const choices = item.choices.map((_, place) => item.choices[(((place - shift) % n) + n) % n]!);
    return { ...item, choices, answer: (item.answer + shift) % n };
}

/**
 * Every rotation of every item, so each answer stands once behind each letter. An adapter trained on a
 * single order per item can lower its loss by learning the item's letter; across all orders only the
 * answer's content is worth learning.
 */
export function allChoiceRotations(items: readonly QaItem[]): QaItem[] {
    return items.flatMap((item) => item.choices.map((_, shift) => rotateChoices(item, shift)));
}
