import { CrayonError } from "../../errors.js";
import type { BlendMethod } from "../types.js";
import { crayonWeights } from "./crayonWeights.js";
import { lorahubWeights, type FewShotLoss, type LorahubOptions } from "./lorahubWeights.js";
import { topKWeights } from "./topKWeights.js";
import { uniformWeights } from "./uniformWeights.js";

/** topk's k when none is given. */
export const DEFAULT_TOP_K = 3;

export interface BlendWeightInputs {
    adapterCount: number;
    /** cosine of the task with each adapter's centroid (crayon, top1, topk): [K] */
    similarities?: readonly number[];
    temperature?: number;
    topK?: number;
    lorahub?: LorahubOptions & { fewShotLoss: FewShotLoss };
}

export interface BlendWeights {
    weights: number[]; // [K]
    search?: { evaluations: number; startLoss: number; loss: number };
}

/** Methods that rank adapters by the similarity of the examples to the cluster centroids. */
export function usesSimilarities(method: BlendMethod): boolean {
    return method === "crayon" || method === "top1" || method === "topk";
}

/** One weight per pool adapter, by the chosen method. */
export async function blendWeights(method: BlendMethod, inputs: BlendWeightInputs): Promise<BlendWeights> {
    const similarities = (): readonly number[] => {
        if (inputs.similarities === undefined) throw new CrayonError(`blend method ${method} needs the examples' similarities to the centroids`);
        return inputs.similarities;
    };
    switch (method) {
        case "crayon":
            return { weights: crayonWeights(similarities(), { temperature: inputs.temperature, topK: inputs.topK }) };
        case "top1":
            return { weights: topKWeights(similarities(), 1) };
        case "topk":
            return { weights: topKWeights(similarities(), inputs.topK ?? Math.min(DEFAULT_TOP_K, inputs.adapterCount)) };
        case "uniform":
            return { weights: uniformWeights(inputs.adapterCount) };
        case "lorahub": {
            if (inputs.lorahub === undefined) throw new CrayonError("blend method lorahub needs a few-shot loss (a base model to evaluate the examples with)");
            const { fewShotLoss, ...options } = inputs.lorahub;
            const result = await lorahubWeights(fewShotLoss, inputs.adapterCount, options);
            return { weights: result.weights, search: { evaluations: result.evaluations, startLoss: result.startLoss, loss: result.loss } };
        }
    }
}
