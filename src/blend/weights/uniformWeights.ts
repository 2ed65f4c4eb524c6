/** Every adapter of the pool weighs 1/K: the baseline that ignores the user's examples. */
export function uniformWeights(adapterCount: number): number[] {
    return new Array<number>(adapterCount).fill(1 / adapterCount);
}
