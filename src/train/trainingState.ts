import * as tf from "@tensorflow/tfjs";
import { CrayonError } from "../errors.js";
import type { AdamW } from "./adamw.js";

/**
 * A training run's state as checkpoint arrays: each trainable variable and its AdamW moments, by
 * position in the optimizer's variable list (a fixed order), plus the optimizer's step count.
 */
export function trainingStateArrays(optimizer: AdamW): Map<string, Float32Array> {
    const { step, moments } = optimizer.state();
    const arrays = new Map<string, Float32Array>([["optimizer.step", Float32Array.of(step)]]);
    optimizer.variables.forEach((variable, i) => {
        arrays.set(`param/${i}`, variable.dataSync() as Float32Array);
        arrays.set(`m/${i}`, moments[i]!.m);
        arrays.set(`v/${i}`, moments[i]!.v);
    });
    return arrays;
}

/** Puts the variables and the optimizer back as `trainingStateArrays` saved them; `where` names the checkpoint in errors. */
export function restoreTrainingState(optimizer: AdamW, arrays: Map<string, Float32Array>, where: string): void {
    const array = (name: string, size: number): Float32Array => {
        const values = arrays.get(name);
        if (values === undefined || values.length !== size) throw new CrayonError(`${where}: checkpoint array ${name} is missing or has the wrong size`);
        return values;
    };
    const moments = optimizer.variables.map((variable, i) => {
        tf.tidy(() => variable.assign(tf.tensor(array(`param/${i}`, variable.size), variable.shape, "float32")));
        return { name: variable.name, m: array(`m/${i}`, variable.size), v: array(`v/${i}`, variable.size) };
    });
    optimizer.restore({ step: array("optimizer.step", 1)[0]!, moments });
}
