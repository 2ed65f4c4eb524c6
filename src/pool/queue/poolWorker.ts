import { readFile, rm } from "node:fs/promises";
import path from "node:path";
import { DelayedError, UnrecoverableError, Worker, type Job } from "bullmq";
import { loadLlamaModel } from "../../model/modelFile.js";
import { ItemEncoder } from "../../runtime/encode.js";
import { LlamaRuntime } from "../../runtime/llama.js";
import { setupEngine } from "../../train/engine/backend.js";
import type { CreateLoraOptimization } from "../../train/adapterTrainer.js";
import { trainPoolAdapter, type ClusterJob, type LoadedBase } from "../clusterAdapter.js";
import { fingerprintBaseModel } from "../fingerprint.js";
import type { BaseModelFingerprint, PoolAdapter } from "../manifest.js";
import { adapterFile, adapterId } from "../poolFiles.js";
import { clusterJobProblem, jobCluster, QUEUE_NAME, TRAIN_JOB, type AdapterJobProgress, type AdapterJobResult } from "./adapterJob.js";
import { checkRedis, type RedisTarget } from "./redisConnection.js";

export interface PoolWorkerOptions {
    modelPath: string;
    redis: RedisTarget;
    /** the training engine's LoRA optimisation, as `build-pool` would choose it on this machine */
    createOptimization: CreateLoraOptimization;
    /**
     * Where jobs are checkpointed, one folder per job id. A job whose worker died is continued from its
     * last checkpoint by whichever worker takes it over and can read this folder: a folder shared by the
     * workers continues it anywhere, a local one only on the same machine (elsewhere it starts over and
     * ends with the same adapter, later).
     */
    workDir: string;
    /** jobs trained at once by this process */
    concurrency: number;
    /** seconds a job stays with a worker that stopped answering (killed, cut off) before another takes it over */
    stallSeconds: number;
    events?: PoolWorkerEvents;
}

export interface PoolWorkerEvents {
    onStart?: (id: string, startStep: number, totalSteps: number) => void;
    onDone?: (adapter: PoolAdapter, bytes: number) => void;
    /** the job is for another base model: released for another worker */
    onRefused?: (id: string, wanted: BaseModelFingerprint, own: BaseModelFingerprint) => void;
    onFailed?: (id: string, message: string) => void;
    onConnectionError?: (message: string) => void;
}

/** A refused job waits this long (ms) before any worker may take it again, so that a right worker gets its turn. */
const REFUSED_DELAY_MS = 1000;
/** Progress is sent to Redis at most this often (ms). */
const PROGRESS_EVERY_MS = 1000;
/** Times a job may be taken over from a silent worker before it counts as failed. */
const MAX_STALLED = 2;

/**
 * `crayon worker`: loads the base model once, then trains the pool jobs it takes from the queue with the
 * code a local `build-pool` uses (`trainPoolAdapter`). It runs nothing a job names but that training: the
 * job's kind and data are checked first, and a job for another base model is handed back untouched.
 * Resolves once the worker is taking jobs; it runs until the process ends.
 */
export async function startPoolWorker(options: PoolWorkerOptions): Promise<BaseModelFingerprint> {
    const { events = {} } = options;
    await checkRedis(options.redis);
    await setupEngine();
    const own = await fingerprintBaseModel(options.modelPath);
    const runtime = await LlamaRuntime.create();
    const model = await runtime.loadModel(options.modelPath);
    const loaded: LoadedBase = { base: await loadLlamaModel(options.modelPath), runtime, model, encoder: new ItemEncoder(model, options.modelPath) };

    const train = async (job: Job<ClusterJob, AdapterJobResult>, token?: string): Promise<AdapterJobResult> => {
        if (job.name !== TRAIN_JOB) throw new UnrecoverableError(`a crayon worker trains pool adapters only, not "${job.name}" jobs`);
        const problem = clusterJobProblem(job.id, job.data);
        if (problem !== null) throw new UnrecoverableError(`not a pool training job: ${problem}`);
        const id = adapterId(job.data.cluster);
        if (job.data.baseModel.sha256 !== own.sha256) {
            events.onRefused?.(id, job.data.baseModel, own);
            await job.moveToDelayed(Date.now() + REFUSED_DELAY_MS, token);
            throw new DelayedError();
        }
        const jobDir = path.join(options.workDir, job.id!); // checked: the hash-named id of a sound job
        const adapterPath = path.join(jobDir, path.basename(adapterFile(id)));
        let sent = 0;
        let totalSteps = 0;
        const report = (progress: AdapterJobProgress) => {
            sent = Date.now();
            job.updateProgress(progress).catch((error: Error) => events.onConnectionError?.(error.message));
        };
        const adapter = await trainPoolAdapter(loaded, job.data, { adapterPath, checkpoints: path.join(jobDir, "checkpoints") }, {
            createOptimization: options.createOptimization,
            onStart: (startStep, steps) => {
                totalSteps = steps;
                events.onStart?.(id, startStep, steps);
                report({ step: startStep, totalSteps });
            },
            onTick: (tick) => {
                if (Date.now() - sent >= PROGRESS_EVERY_MS || tick.step === totalSteps) report({ step: tick.step, totalSteps, loss: tick.loss });
            }
        });
        const gguf = await readFile(adapterPath);
        await rm(jobDir, { recursive: true, force: true });
        events.onDone?.(adapter, gguf.length);
        return { adapter, gguf: gguf.toString("base64") };
    };

    const lockDuration = options.stallSeconds * 1000;
    const worker = new Worker<ClusterJob, AdapterJobResult>(QUEUE_NAME, train, {
        connection: options.redis.options,
        concurrency: options.concurrency,
        lockDuration,
        stalledInterval: lockDuration,
        maxStalledCount: MAX_STALLED
    });
    worker.on("error", (error) => events.onConnectionError?.(`Redis at ${options.redis.shown}: ${error.message}`));
    worker.on("failed", (job, error) => events.onFailed?.(jobCluster(job?.id ?? "") ?? "a job", error.message));
    await worker.waitUntilReady();
    return own;
}
