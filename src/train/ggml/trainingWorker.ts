import { GgmlTrainer, type GgmlTrainingSpec } from "./ggmlTrainer.js";
import { findGgmlBuild, GgmlTensorType, loadGgml, type Pointer } from "./library.js";
import { checkGgml } from "./selfCheck.js";
import type { TokenBatch } from "../sequences.js";

/*
 * The child process the ggml engine trains in (started by trainingProcess.ts). A GGML_ASSERT aborts
 * this process, not the CLI: the parent turns the exit into a one-line error. Requests arrive over
 * IPC one at a time and are answered in order.
 */

export type WorkerRequest =
    | { op: "check" }
    | { op: "create"; spec: GgmlTrainingSpec }
    | { op: "step"; batches: TokenBatch[] }
    | { op: "lossSum"; batch: TokenBatch }
    | { op: "state" }
    | { op: "restore"; arrays: Map<string, Float32Array>; where: string }
    | { op: "parameters" }
    | { op: "memory" };

export type WorkerReply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string };

let trainer: GgmlTrainer | null = null;

/** CRAYON_GGML_ABORT_AT_STEP=N makes step N fail a real GGML_ASSERT: how the abort path is tested. */
function abortIfAsked(step: number): void {
    if (Number(process.env["CRAYON_GGML_ABORT_AT_STEP"]) !== step) return;
    const { fn } = trainer!.library;
    const context = fn.init({ mem_size: 1 << 16, mem_buffer: null, no_alloc: true }) as Pointer;
    fn.mulMat(context, fn.newTensor2d(context, GgmlTensorType.F32, 3, 2), fn.newTensor2d(context, GgmlTensorType.F32, 4, 2)); // inner sizes differ: ggml aborts
}

async function handle(request: WorkerRequest): Promise<unknown> {
    if (request.op === "check") return checkGgml();
    if (request.op === "create") {
        const build = findGgmlBuild();
        if (build === null) throw new Error("node-llama-cpp's platform package with the ggml libraries is not installed");
        trainer = await GgmlTrainer.create(loadGgml(build), request.spec);
        return { parameters: trainer.parameters().reduce((n, p) => n + p.length, 0) };
    }
    if (trainer === null) throw new Error("the ggml trainer was not created");
    switch (request.op) {
        case "step":
            abortIfAsked(trainer.step + 1);
            return trainer.trainStep(request.batches);
        case "lossSum":
            return trainer.lossSum(request.batch);
        case "state":
            return trainer.state();
        case "restore":
            trainer.restore(request.arrays, request.where);
            return null;
        case "parameters":
            return trainer.parameters();
        case "memory":
            return trainer.memoryBytes();
    }
}

// the terminal's SIGINT reaches the whole process group: the parent decides when this process stops
process.on("SIGINT", () => undefined);
process.on("disconnect", () => process.exit(0));
process.on("message", (message: { id: number; request: WorkerRequest }) => {
    handle(message.request).then(
        (value) => process.send!({ id: message.id, ok: true, value } satisfies WorkerReply),
        (error: unknown) => process.send!({ id: message.id, ok: false, error: (error as Error).message } satisfies WorkerReply)
    );
});
