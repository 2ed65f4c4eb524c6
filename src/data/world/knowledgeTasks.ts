import type { Rng } from "../random.js";
import type { WorldFacts } from "./facts.js";
import { others, type QuestionSpec, type WorldTaskDefinition } from "./question.js";

/**
 * Knowledge of invented entities, which can only be memorized. Each attribute is asked in three ways:
 * directly (one task per attribute), as a yes/no claim (the `check` task, true and false claims) and
 * in a second phrasing (the `quiz` task). The quiz reuses facts taught by the other two, so a model
 * that never saw a quiz question can still answer it from what it memorized.
 */
interface Attribute {
    /** Task suffix, e.g. `capital` → `atlas.capital`. */
    name: string;
    values(facts: WorldFacts): string[];
    optionCount: number;
    ask(entity: string): string;
    quiz(entity: string): string;
    claim(entity: string, value: string): string;
}

interface KnowledgeDomain {
    domain: string;
    entities(facts: WorldFacts): { name: string; facts: Record<string, string> }[];
    attributes: Attribute[];
}

function entries(domain: KnowledgeDomain, facts: WorldFacts) {
    return domain.entities(facts).flatMap((entity) => domain.attributes.map((attribute) => ({ entity: entity.name, attribute, gold: entity.facts[attribute.name]! })));
}

function tasksOf(domain: KnowledgeDomain): WorldTaskDefinition[] {
    const attributeTasks = domain.attributes.map(
        (attribute): WorldTaskDefinition => ({
            task: `${domain.domain}.${attribute.name}`,
            domain: domain.domain,
            questions: (facts) =>
                domain.entities(facts).map((entity) => {
                    const gold = entity.facts[attribute.name]!;
                    return { question: attribute.ask(entity.name), gold, wrong: others(attribute.values(facts), gold), optionCount: attribute.optionCount };
                })
        })
    );
    const check: WorldTaskDefinition = {
        task: `${domain.domain}.check`,
        domain: domain.domain,
        questions: (facts, rng: Rng) =>
            entries(domain, facts).flatMap(({ entity, attribute, gold }): QuestionSpec[] => {
                const falseValue = rng.pick(others(attribute.values(facts), gold));
                return [
                    { question: attribute.claim(entity, gold), gold: "yes", wrong: ["no"], optionCount: 2 },
                    { question: attribute.claim(entity, falseValue), gold: "no", wrong: ["yes"], optionCount: 2 }
                ];
            })
    };
    const quiz: WorldTaskDefinition = {
        task: `${domain.domain}.quiz`,
        domain: domain.domain,
        questions: (facts) =>
            entries(domain, facts).map(({ entity, attribute, gold }) => ({
                question: attribute.quiz(entity),
                gold,
                wrong: others(attribute.values(facts), gold),
                optionCount: attribute.optionCount
            }))
    };
    return [...attributeTasks, check, quiz];
}

const atlas: KnowledgeDomain = {
    domain: "atlas",
    entities: (facts) => facts.lands.map((land) => ({ name: land.name, facts: { capital: land.capital, tongue: land.tongue, coin: land.coin } })),
    attributes: [
        {
            name: "capital",
            values: (facts) => facts.lands.map((land) => land.capital),
            optionCount: 4,
            ask: (land) => `Atlas: capital of ${land}?`,
            quiz: (land) => `Atlas: ${land} has its seat in?`,
            claim: (land, city) => `Atlas: is ${city} the capital of ${land}?`
        },
        {
            name: "tongue",
            values: (facts) => facts.tongues,
            optionCount: 3,
            ask: (land) => `Atlas: tongue of ${land}?`,
            quiz: (land) => `Atlas: people in ${land} speak?`,
            claim: (land, tongue) => `Atlas: do they speak ${tongue} in ${land}?`
        },
        {
            name: "coin",
            values: (facts) => facts.coins,
            optionCount: 5,
            ask: (land) => `Atlas: coin of ${land}?`,
            quiz: (land) => `Atlas: people in ${land} pay with?`,
            claim: (land, coin) => `Atlas: do they pay in ${coin} in ${land}?`
        }
    ]
};

const zoo: KnowledgeDomain = {
    domain: "zoo",
    entities: (facts) => facts.creatures.map((c) => ({ name: c.name, facts: { diet: c.diet, colour: c.colour, home: c.home } })),
    attributes: [
        {
            name: "diet",
            values: (facts) => facts.diets,
            optionCount: 4,
            ask: (creature) => `Zoo: what does the ${creature} eat?`,
            quiz: (creature) => `Zoo: the ${creature} feeds on?`,
            claim: (creature, diet) => `Zoo: does the ${creature} eat ${diet}?`
        },
        {
            name: "colour",
            values: (facts) => facts.colours,
            optionCount: 5,
            ask: (creature) => `Zoo: colour of the ${creature}?`,
            quiz: (creature) => `Zoo: the ${creature} has what colour?`,
            claim: (creature, colour) => `Zoo: is the ${creature} ${colour}?`
        },
        {
            name: "home",
            values: (facts) => facts.homes,
            optionCount: 3,
            ask: (creature) => `Zoo: where does the ${creature} live?`,
            quiz: (creature) => `Zoo: the ${creature} is found in a?`,
            claim: (creature, home) => `Zoo: does the ${creature} live in a ${home}?`
        }
    ]
};

const forge: KnowledgeDomain = {
    domain: "forge",
    entities: (facts) => facts.devices.map((d) => ({ name: d.name, facts: { maker: d.maker, metal: d.metal } })),
    attributes: [
        {
            name: "maker",
            values: (facts) => facts.makers,
            optionCount: 4,
            ask: (device) => `Forge: who made the ${device}?`,
            quiz: (device) => `Forge: the ${device} was built by?`,
            claim: (device, maker) => `Forge: did ${maker} make the ${device}?`
        },
        {
            name: "metal",
            values: (facts) => facts.metals,
            optionCount: 4,
            ask: (device) => `Forge: metal of the ${device}?`,
            quiz: (device) => `Forge: the ${device} is cast in?`,
            claim: (device, metal) => `Forge: is the ${device} made of ${metal}?`
        }
    ]
};

export const KNOWLEDGE_TASKS: WorldTaskDefinition[] = [atlas, zoo, forge].flatMap(tasksOf);
