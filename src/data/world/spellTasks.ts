import { nearNumbers, type QuestionSpec, type WorldTaskDefinition } from "./question.js";

/** String skills on the world's pseudo-words, all phrased `Spell: …`. */
const ALPHABET = "abcdefghijklmnopqrstuvwxyz".split("");

function letterQuestion(question: string, gold: string, word: string): QuestionSpec {
    // wrong letters from the word itself first: the tempting mistakes
    const wrong = [...new Set([...word.split(""), ...ALPHABET])].filter((letter) => letter !== gold);
    return { question, gold, wrong: wrong.slice(0, 6), optionCount: 4 };
}

export const SPELL_TASKS: WorldTaskDefinition[] = [
    {
        task: "spell.first",
        domain: "spell",
        questions: (facts) => facts.words.map((word) => letterQuestion(`Spell: first letter of ${word}?`, word[0]!, word))
    },
    {
        task: "spell.last",
        domain: "spell",
        questions: (facts) => facts.words.map((word) => letterQuestion(`Spell: last letter of ${word}?`, word[word.length - 1]!, word))
    },
    {
        task: "spell.length",
        domain: "spell",
        questions: (facts) =>
            facts.words.map((word) => ({ question: `Spell: letters in ${word}?`, gold: String(word.length), wrong: nearNumbers(word.length, [-2, -1, 1, 2]), optionCount: 3 }))
    },
    {
        task: "spell.count",
        domain: "spell",
        questions: (facts) =>
            facts.words.flatMap((word) =>
                [...new Set(word.split(""))].map((letter) => {
                    const count = word.split("").filter((c) => c === letter).length;
                    return { question: `Spell: how many ${letter} in ${word}?`, gold: String(count), wrong: nearNumbers(count, [-1, 1, 2, 3]), optionCount: 3 };
                })
            )
    }
];
