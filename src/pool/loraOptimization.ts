import * as tf from "@tensorflow/tfjs";
import { llamaLogits } from "../model/forward.js";
import { AdamW } from "../train/adamw.js";
import type { TokenBatch } from "../train/sequences.js";
import type { CreateLoraOptimization } from "./adapterTrainer.js";

/**
 * LoRA optimisation on the frozen base with the project's AdamW: the gradient of the masked
 * cross-entropy reaches only the adapter's factors; warm-up then cosine decay to a tenth of the peak.
 */
export const createLoraOptimization: CreateLoraOptimization = ({ base, stack, variables, learningRate, totalSteps }) => {
    const warmupSteps = Math.min(10, Math.floor(totalSteps / 10));
    const optimizer = new AdamW(variables, { schedule: { peak: learningRate, floor: learningRate / 10, warmupSteps, totalSteps }, weightDecay: 0 });
    const names = variables.map((v) => v.name);
    return {
        async step(batch: TokenBatch): Promise<number> {
            const { value, grads } = tf.variableGrads(() => maskedCrossEntropy(batch, (tokens) => llamaLogits(base.hp, base.weights, tokens, stack)), variables);
            const loss = (await value.data())[0]!;
            const gradients = names.map((name) => grads[name]!.dataSync() as Float32Array);
            tf.dispose([value, ...Object.values(grads)]);
            optimizer.apply(gradients);
            return loss;
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
        dispose() {}
    };
};

/** Mean −log p(target) over the masked positions: logits [B·T, vocab] against targets [B·T]. */
function maskedCrossEntropy(batch: TokenBatch, logitsOf: (tokens: tf.Tensor2D) => tf.Tensor2D): tf.Scalar {
    const tokens = tf.tensor2d(batch.inputs, [batch.batchSize, batch.seqLen], "int32");
    const logProbabilities = tf.logSoftmax(logitsOf(tokens));
    // a one-hot product rather than gather: gather's gradient kernel is not on every backend
    const targetLogProbabilities = tf.sum(tf.mul(logProbabilities, tf.oneHot(tf.tensor1d(batch.targets, "int32"), logProbabilities.shape[1])), 1);
    const mask = tf.tensor1d(batch.lossMask);
    return tf.div(tf.neg(tf.sum(tf.mul(targetLogProbabilities, mask))), Math.max(1, batch.scoredTokens));
}
