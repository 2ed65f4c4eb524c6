import type { QaItem } from "../item.js";
import { createRng, type Rng } from "../random.js";
import { createFacts, type WorldFacts, type WorldOptions } from "./facts.js";
import { KNOWLEDGE_TASKS } from "./knowledgeTasks.js";
import { NUMBER_TASKS } from "./numberTasks.js";
import type { QuestionSpec, WorldTaskDefinition } from "./question.js";
import { SPELL_TASKS } from "./spellTasks.js";

/** Every task of the QA world, grouped by domain through the `domain.` prefix of its name. */
export const WORLD_TASKS: readonly WorldTaskDefinition[] = [...NUMBER_TASKS, ...SPELL_TASKS, ...KNOWLEDGE_TASKS];

export interface WorldTaskInfo {
    task: string;
    domain: string;
    /** How many different question texts the task can ask; items beyond this repeat questions with new options. */
    distinctQuestions: number;
}

export interface World {
    options: WorldOptions;
    facts: WorldFacts;
    tasks: WorldTaskInfo[];
    /**
     * The first `count` items of a task. Items are a stable sequence: asking for more never changes the
     * first ones, and the first `distinctQuestions` items all have different question texts.
     */
    items(task: string, count: number): QaItem[];
}

/** The deterministic multi-domain multiple-choice world the embedded models are trained on. */
export function createWorld(options: WorldOptions): World {
    const facts = createFacts(options);
    // each task draws from its own stream, so resizing one task leaves every other task unchanged
    const prepared = new Map<string, QuestionSpec[]>();
    const prepare = (task: string) => {
        let questions = prepared.get(task);
        if (questions === undefined) {
            const definition = WORLD_TASKS.find((t) => t.task === task);
            if (definition === undefined) throw new RangeError(`unknown world task "${task}"`);
            const rng = createRng(`world:${options.seed}:${task}`);
            questions = rng.shuffle(definition.questions(facts, rng));
            prepared.set(task, questions);
        }
        return questions;
    };
    return {
        options,
        facts,
        tasks: WORLD_TASKS.map(({ task, domain }) => ({ task, domain, distinctQuestions: prepare(task).length })),
        items(task, count) {
            const questions = prepare(task);
            const optionRng = createRng(`world:${options.seed}:${task}:options`);
            return Array.from({ length: count }, (_, i) => toItem(task, i, questions[i % questions.length]!, optionRng));
        }
    };
}

function toItem(task: string, index: number, spec: QuestionSpec, rng: Rng): QaItem {
    const wrong = [...new Set(spec.wrong)].filter((w) => w !== spec.gold);
    if (spec.optionCount < 2 || spec.optionCount > 5 || wrong.length < spec.optionCount - 1) {
        throw new Error(`world task ${task}: "${spec.question}" cannot have ${spec.optionCount} distinct options`);
    }
    const choices = rng.shuffle([spec.gold, ...rng.shuffle(wrong).slice(0, spec.optionCount - 1)]);
    return {
        id: `world/${task}/${String(index).padStart(6, "0")}`,
        source: "world",
        task,
        question: spec.question,
        choices,
        answer: choices.indexOf(spec.gold)
    };
}
