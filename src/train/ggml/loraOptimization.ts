import * as tf from "@tensorflow/tfjs";
import type { LoraTarget } from "../../gguf/constants.js";
import type { CreateLoraOptimization } from "../adapterTrainer.js";
import { loraAdamWConfig } from "../loraOptimization.js";
import { ggmlThreads } from "./engineChoice.js";
import { GgmlTrainingProcess } from "./trainingProcess.js";

/**
 * build-pool's LoRA optimisation on the ggml engine, in a child process: the same adapter (the factors
 * initLora made, sent as they are), schedule and loss as src/pool/loraOptimization.ts. The tfjs
 * variables are brought up to date only when the pool reads them (a best-step snapshot, the adapter file).
 */
export const createGgmlLoraOptimization: CreateLoraOptimization = ({ base, stack, variables, learningRate, totalSteps }) => {
    const first = stack[0] ?? {};
    const targets = Object.keys(first) as LoraTarget[];
    const factors = first[targets[0]!]![0]!;
    const rank = factors.a.shape[1];
    const child = GgmlTrainingProcess.open({
        modelPath: base.file.path,
        lora: { targets, rank, alpha: factors.scale * rank, factors: variables.map((v) => v.dataSync() as Float32Array) },
        optimizer: loraAdamWConfig(learningRate, totalSteps),
        threads: ggmlThreads()
    });
    let stepCount = 0;
    void child.then((c) => (c.crashHint = () => "the adapter's last checkpoint is kept: run the same build-pool again to continue"), () => undefined);
    return {
        async step(batch) {
            const result = await (await child).step([batch], stepCount + 1);
            stepCount = result.step;
            return result.loss;
        },
        lossSum: async (batch) => (await child).lossSum(batch),
        state: async () => (await child).state(),
        async restore(arrays) {
            await (await child).restore(arrays, "LoRA checkpoint");
            stepCount = arrays.get("optimizer.step")?.[0] ?? 0;
        },
        async syncVariables() {
            const values = await (await child).parameters();
            variables.forEach((v, i) => tf.tidy(() => v.assign(tf.tensor(values[i]!, v.shape, "float32"))));
        },
        dispose() {
            void child.then((c) => c.dispose(), () => undefined);
        }
    };
};
