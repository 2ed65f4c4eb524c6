import { runBlendBench } from "./blendSpeed.js";
import { runScoringBench } from "./scoringSpeed.js";
import { runServeLoadBench } from "./serveLoad.js";
import { runTrainingBench } from "./training.js";

/** `npm run bench`: every benchmark in turn. A new benchmark is one file exporting a run function, listed here. */
const BENCHMARKS: { name: string; run: () => Promise<void> }[] = [
    { name: "training", run: runTrainingBench },
    { name: "blend", run: runBlendBench },
    { name: "scoring", run: runScoringBench },
    { name: "serve load", run: runServeLoadBench }
];

for (const bench of BENCHMARKS) {
    console.log(`\n== ${bench.name} ==`);
    await bench.run();
}
