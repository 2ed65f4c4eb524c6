import { fork, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { CrayonError } from "../../errors.js";
import { projectRoot } from "../../version.js";
import type { TokenBatch } from "../sequences.js";
import type { TrainStepResult } from "../trainStep.js";
import type { GgmlTrainingSpec } from "./ggmlTrainer.js";
import type { GgmlReport } from "./selfCheck.js";
import type { WorkerReply, WorkerRequest } from "./trainingWorker.js";

/** The compiled worker next to this module, or under dist/ when this module runs from source (tests). */
function workerPath(): string {
    const beside = fileURLToPath(new URL("./trainingWorker.js", import.meta.url));
    return existsSync(beside) ? beside : path.join(projectRoot, "dist", "src", "train", "ggml", "trainingWorker.js");
}

/** Lines of the child's stderr kept to explain an abort. */
const STDERR_LINES = 40;

/** The last ggml assertion or abort message in the child's stderr, without the build machine's path. */
export function abortReason(stderr: readonly string[]): string | null {
    const line = [...stderr].reverse().find((l) => /GGML_ASSERT|GGML_ABORT|ggml_abort|error/i.test(l));
    return line === undefined ? null : line.replace(/^\S*\/([^/\s]+:\d+:)/, "$1").trim();
}

/**
 * The parent side of a ggml training run in a child process. Every request is answered in order; if
 * the child dies (a GGML_ASSERT's abort, a signal, out of memory) every pending request fails with one
 * line naming the step that was running and what the native library said, plus `crashHint()` (where
 * the last checkpoint is and how to resume).
 */
export class GgmlTrainingProcess {
    private nextId = 0;
    private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
    private readonly stderr: string[] = [];
    private exited: Error | null = null;
    private runningStep: number | null = null;
    crashHint: () => string = () => "";

    private constructor(private readonly child: ChildProcess) {
        let partial = "";
        child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
            const lines = (partial + chunk).split("\n");
            partial = lines.pop()!;
            this.stderr.push(...lines.filter((l) => l.trim() !== ""));
            this.stderr.splice(0, Math.max(0, this.stderr.length - STDERR_LINES));
        });
        child.on("message", (reply: WorkerReply) => {
            const waiting = this.pending.get(reply.id);
            this.pending.delete(reply.id);
            if (reply.ok) waiting?.resolve(reply.value);
            else waiting?.reject(new CrayonError(`ggml engine: ${reply.error}`));
        });
        child.on("exit", (code, signal) => {
            child.stderr!.removeAllListeners("data");
            if (partial.trim() !== "") this.stderr.push(partial);
            const where = this.runningStep === null ? "" : ` at step ${this.runningStep}`;
            const why = abortReason(this.stderr) ?? (signal !== null ? `killed by ${signal}` : `exit code ${code}`);
            const hint = this.crashHint();
            this.exited = new CrayonError(`ggml training process stopped${where}: ${why}${hint === "" ? "" : `; ${hint}`}`);
            for (const { reject } of this.pending.values()) reject(this.exited);
            this.pending.clear();
        });
    }

    /** Starts a child; `CRAYON_GGML_*` settings reach it through the environment. */
    static start(): GgmlTrainingProcess {
        const child = fork(workerPath(), [], { serialization: "advanced", stdio: ["ignore", "ignore", "pipe", "ipc"] });
        return new GgmlTrainingProcess(child);
    }

    /** A child with a trainer for `spec`, ready for steps. */
    static async open(spec: GgmlTrainingSpec): Promise<GgmlTrainingProcess> {
        const worker = GgmlTrainingProcess.start();
        try {
            await worker.create(spec);
        } catch (error) {
            worker.dispose();
            throw error;
        }
        return worker;
    }

    /** Runs the start-up self-check in a fresh child and ends it. */
    static async check(): Promise<GgmlReport> {
        const worker = GgmlTrainingProcess.start();
        try {
            return (await worker.request({ op: "check" })) as GgmlReport;
        } catch (error) {
            return { ok: false, reason: (error as Error).message };
        } finally {
            worker.dispose();
        }
    }

    /** The child's process id (tests kill it). */
    get pid(): number {
        return this.child.pid!;
    }

    async create(spec: GgmlTrainingSpec): Promise<void> {
        await this.request({ op: "create", spec });
    }

    /** One optimizer step; `step` is the number it will have, for the error if the child dies in it. */
    async step(batches: TokenBatch[], step: number): Promise<TrainStepResult> {
        this.runningStep = step;
        const result = (await this.request({ op: "step", batches })) as TrainStepResult;
        this.runningStep = null;
        return result;
    }

    async lossSum(batch: TokenBatch): Promise<number> {
        return (await this.request({ op: "lossSum", batch })) as number;
    }

    async state(): Promise<Map<string, Float32Array>> {
        return (await this.request({ op: "state" })) as Map<string, Float32Array>;
    }

    async restore(arrays: Map<string, Float32Array>, where: string): Promise<void> {
        await this.request({ op: "restore", arrays, where });
    }

    async parameters(): Promise<Float32Array[]> {
        return (await this.request({ op: "parameters" })) as Float32Array[];
    }

    /** Bytes of the child's ggml buffers (model, optimizer, gradients, compute). */
    async memoryBytes(): Promise<number> {
        return (await this.request({ op: "memory" })) as number;
    }

    dispose(): void {
        if (this.exited === null && this.child.connected) this.child.disconnect();
    }

    private request(request: WorkerRequest): Promise<unknown> {
        if (this.exited !== null) return Promise.reject(this.exited);
        const id = this.nextId++;
        return new Promise((resolve, reject) => {
            this.pending.set(id, { resolve, reject });
            this.child.send({ id, request });
        });
    }
}
