import type { QaItem } from "../data/item.js";
import { promptText } from "../data/prompt.js";
import { dot, l2Normalize } from "../pool/vectors.js";

/** Embeds texts on the device: one vector per text (normalised here, whatever the embedder returns). */
export type EmbedTexts = (texts: readonly string[]) => Promise<ArrayLike<number>[]>;

/** max: cosine to the nearest user example; mean: the average cosine to all of them. */
export type ScopePooling = "max" | "mean";

/**
 * The customized task as the user's examples' embeddings: a query's scope is its cosine similarity to
 * them. The embeddings stay on the device; only the similarity number is used for routing.
 */
export class TaskScope {
    private constructor(private readonly embed: EmbedTexts, private readonly examples: Float32Array[], readonly pooling: ScopePooling) {}

    /** Embeds each example's prompt (as the router embeds a query's) on the device. */
    static async fromExamples(embed: EmbedTexts, examples: readonly QaItem[], pooling: ScopePooling = "max"): Promise<TaskScope> {
        if (examples.length === 0) throw new RangeError("the task scope needs at least one example");
        return new TaskScope(embed, (await embed(examples.map(promptText))).map((v) => l2Normalize(v)), pooling);
    }

    async similarity(text: string): Promise<number> {
        const [query] = await this.embed([text]);
        return this.pool(l2Normalize(query!), this.examples);
    }

    /**
     * Each example's similarity to the others (itself left out): the calibration set for σ. With the
     * example itself included, max pooling would always give 1.
     */
    leaveOneOutSimilarities(): number[] {
        if (this.examples.length < 2) throw new RangeError("calibrating the scope threshold needs at least two examples");
        return this.examples.map((example, i) => this.pool(example, this.examples.filter((_, j) => j !== i)));
    }

    private pool(query: Float32Array, examples: readonly Float32Array[]): number {
        const cosines = examples.map((example) => dot(query, example));
        return this.pooling === "max" ? Math.max(...cosines) : cosines.reduce((sum, c) => sum + c, 0) / cosines.length;
    }
}
