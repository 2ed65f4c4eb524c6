import type { Rng } from "../random.js";
import type { WorldFacts } from "./facts.js";
import { others, type QuestionSpec, type WorldTaskDefinition } from "./question.js";

/**
 * Knowledge of invented entities, which can only be memorized. Each attribute is asked in three ways:
 * directly (one task per attribute), as a yes/no claim (the `check` task, true and false claims) and
 * in a second phrasing (the `quiz` task: a paraphrase that keeps the attribute's word and the entity's
 * name). Every task exists twice: over the near entities (`atlas.capital`) and over the far ones
 * (`atlas.far.capital`, see WorldOptions.far), so a benchmark can teach a model the paraphrase on
 * entities it knows and ask it about entities whose facts it learnt only in the direct phrasing.
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

interface Entity {
    name: string;
    far: boolean;
    facts: Record<string, string>;
}

interface KnowledgeDomain {
    domain: string;
    entities(facts: WorldFacts): Entity[];
    attributes: Attribute[];
}

function entries(domain: KnowledgeDomain, entities: Entity[]) {
    return entities.flatMap((entity) => domain.attributes.map((attribute) => ({ entity: entity.name, attribute, gold: entity.facts[attribute.name]! })));
}

function tasksOf(domain: KnowledgeDomain, far: boolean): WorldTaskDefinition[] {
    const prefix = far ? `${domain.domain}.far` : domain.domain;
    const entities = (facts: WorldFacts) => domain.entities(facts).filter((entity) => entity.far === far);
    const attributeTasks = domain.attributes.map(
        (attribute): WorldTaskDefinition => ({
            task: `${prefix}.${attribute.name}`,
            domain: domain.domain,
            questions: (facts) =>
                entities(facts).map((entity) => {
                    const gold = entity.facts[attribute.name]!;
                    return { question: attribute.ask(entity.name), gold, wrong: others(attribute.values(facts), gold), optionCount: attribute.optionCount };
                })
        })
    );
    const check: WorldTaskDefinition = {
        task: `${prefix}.check`,
        domain: domain.domain,
        questions: (facts, rng: Rng) =>
            entries(domain, entities(facts)).flatMap(({ entity, attribute, gold }): QuestionSpec[] => {
                const falseValue = rng.pick(others(attribute.values(facts), gold));
                return [
                    { question: attribute.claim(entity, gold), gold: "yes", wrong: ["no"], optionCount: 2 },
                    { question: attribute.claim(entity, falseValue), gold: "no", wrong: ["yes"], optionCount: 2 }
                ];
            })
    };
    const quiz: WorldTaskDefinition = {
        task: `${prefix}.quiz`,
        domain: domain.domain,
        questions: (facts) =>
            entries(domain, entities(facts)).map(({ entity, attribute, gold }) => ({
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
    entities: (facts) => facts.lands.map((land) => ({ name: land.name, far: land.far, facts: { capital: land.capital, tongue: land.tongue, coin: land.coin } })),
    attributes: [
        {
            name: "capital",
            values: (facts) => facts.lands.map((land) => land.capital),
            optionCount: 4,
            ask: (land) => `Atlas: capital of ${land}?`,
            quiz: (land) => `Atlas: which city is the capital of ${land}?`,
            claim: (land, city) => `Atlas: is ${city} the capital of ${land}?`
        },
        {
            name: "tongue",
            values: (facts) => facts.tongues,
            optionCount: 3,
            ask: (land) => `Atlas: tongue of ${land}?`,
            quiz: (land) => `Atlas: which tongue is spoken in ${land}?`,
            claim: (land, tongue) => `Atlas: do they speak ${tongue} in ${land}?`
        },
        {
            name: "coin",
            values: (facts) => facts.coins,
            optionCount: 5,
            ask: (land) => `Atlas: coin of ${land}?`,
            quiz: (land) => `Atlas: which coin is used in ${land}?`,
            claim: (land, coin) => `Atlas: do they pay in ${coin} in ${land}?`
        }
    ]
};

const zoo: KnowledgeDomain = {
    domain: "zoo",
    entities: (facts) => facts.creatures.map((c) => ({ name: c.name, far: c.far, facts: { diet: c.diet, colour: c.colour, home: c.home } })),
    attributes: [
        {
            name: "diet",
            values: (facts) => facts.diets,
            optionCount: 4,
            ask: (creature) => `Zoo: what does the ${creature} eat?`,
            quiz: (creature) => `Zoo: which food does the ${creature} eat?`,
            claim: (creature, diet) => `Zoo: does the ${creature} eat ${diet}?`
        },
        {
            name: "colour",
            values: (facts) => facts.colours,
            optionCount: 5,
            ask: (creature) => `Zoo: colour of the ${creature}?`,
            quiz: (creature) => `Zoo: which colour is the ${creature}?`,
            claim: (creature, colour) => `Zoo: is the ${creature} ${colour}?`
        },
        {
            name: "home",
            values: (facts) => facts.homes,
            optionCount: 3,
            ask: (creature) => `Zoo: where does the ${creature} live?`,
            quiz: (creature) => `Zoo: which place does the ${creature} live in?`,
            claim: (creature, home) => `Zoo: does the ${creature} live in a ${home}?`
        }
    ]
};

const forge: KnowledgeDomain = {
    domain: "forge",
    entities: (facts) => facts.devices.map((d) => ({ name: d.name, far: false, facts: { maker: d.maker, metal: d.metal } })),
    attributes: [
        {
            name: "maker",
            values: (facts) => facts.makers,
            optionCount: 4,
            ask: (device) => `Forge: who made the ${device}?`,
            quiz: (device) => `Forge: which maker made the ${device}?`,
            claim: (device, maker) => `Forge: did ${maker} make the ${device}?`
        },
        {
            name: "metal",
            values: (facts) => facts.metals,
            optionCount: 4,
            ask: (device) => `Forge: metal of the ${device}?`,
            quiz: (device) => `Forge: which metal is the ${device} made of?`,
            claim: (device, metal) => `Forge: is the ${device} made of ${metal}?`
        }
    ]
};

export const KNOWLEDGE_TASKS: WorldTaskDefinition[] = [...[atlas, zoo].flatMap((domain) => [...tasksOf(domain, false), ...tasksOf(domain, true)]), ...tasksOf(forge, false)];
