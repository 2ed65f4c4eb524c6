import { runTrainingBench } from "./training.js";

/** `npm run bench`: every benchmark in turn. A new benchmark is one file exporting a run function, listed here. */
const BENCHMARKS: { name: string; run: () => Promise<void> }[] = [{ name: "training", run: runTrainingBench }];

for (const bench of BENCHMARKS) {
    console.log(`== ${bench.name} ==`);
    await bench.run();
}
