import * as tf from "@tensorflow/tfjs";
import { AdamW } from "../train/adamw.js";
import type { TokenBatch } from "../train/sequences.js";
import { trainStep, type TrainableModel } from "../train/trainStep.js";
import type { CreateLoraOptimization } from "./adapterTrainer.js";

/**
 * LoRA optimisation on the frozen base with the project's trainer (src/train/trainStep.ts: only the
 * scored positions reach the output head, fused cross-entropy) and AdamW: warm-up, then cosine decay
 * to a tenth of the peak.
 */
export const createLoraOptimization: CreateLoraOptimization = ({ base, stack, variables, learningRate, totalSteps }) => {
    const warmupSteps = Math.min(10, Math.floor(totalSteps / 10));
    const optimizer = new AdamW(variables, { schedule: { peak: learningRate, floor: learningRate / 10, warmupSteps, totalSteps }, weightDecay: 0 });
    const { hp, weights } = base;
    const head = weights.output ?? weights.tokenEmbd;
    const model: TrainableModel = {
        mode: "lora",
        hp,
        weights,
        lora: stack,
        variables,
        frozenHeadTranspose: weights.f16MatmulInputs ? null : tf.tidy(() => tf.transpose(head))
    };
    return {
        async step(batch: TokenBatch): Promise<number> {
            return trainStep(model, optimizer, [batch]).loss;
        },
        state() {
            const arrays = new Map<string, Float32Array>([["optimizer.step", Float32Array.of(optimizer.step)]]);
            const { moments } = optimizer.state();
            variables.forEach((v, i) => {
                arrays.set(v.name, v.dataSync() as Float32Array);
                arrays.set(`${v.name}.m`, moments[i]!.m);
                arrays.set(`${v.name}.v`, moments[i]!.v);
            });
            return arrays;
        },
        restore(arrays) {
            const get = (name: string): Float32Array => {
                const data = arrays.get(name);
                if (data === undefined) throw new Error(`checkpoint has no array ${name}`);
                return data;
            };
            variables.forEach((v) => tf.tidy(() => v.assign(tf.tensor(get(v.name), v.shape, "float32"))));
            optimizer.restore({ step: get("optimizer.step")[0]!, moments: variables.map((v) => ({ name: v.name, m: get(`${v.name}.m`), v: get(`${v.name}.v`) })) });
        },
        dispose() {
            model.frozenHeadTranspose?.dispose();
        }
    };
};
