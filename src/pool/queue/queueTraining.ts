import { createHash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { Queue, QueueEvents, type Job } from "bullmq";
import { CrayonError } from "../../errors.js";
import type { RemoteTraining } from "../buildPool.js";
import type { ClusterJob } from "../clusterAdapter.js";
import { adapterFile, adapterId } from "../poolFiles.js";
import { adapterJobId, QUEUE_NAME, TRAIN_JOB, type AdapterJobProgress, type AdapterJobResult } from "./adapterJob.js";
import { checkRedis, type RedisTarget } from "./redisConnection.js";

export type JobPhase = "waiting" | "running" | "done" | "failed";

export interface QueueTrainingOptions {
    redis: RedisTarget;
    /** tries of each job before the build gives it up (a worker's error or a job stalled too often) */
    attempts: number;
    events?: QueueTrainingEvents;
}

export interface QueueTrainingEvents {
    onJob?: (cluster: number, phase: JobPhase, progress: AdapterJobProgress | undefined) => void;
    /** Redis could not be reached (restarted, network): the queue reconnects by itself */
    onConnectionError?: (message: string) => void;
}

/** How often the coordinator looks at its jobs' states, ms: cheap (one small script per job). */
const POLL_MS = 500;
/** Bounds the queue's event stream: a job's `completed` event repeats its result, the adapter's bytes. */
const EVENT_STREAM_LENGTH = 200;
/** Delay before a failed attempt is tried again, ms. */
const RETRY_DELAY_MS = 1000;

/**
 * The coordinator's side of a queued `build-pool`: one BullMQ job per cluster, then it waits, writing each
 * adapter into the pool as its job completes (after checking the bytes against the sha256 the worker
 * recorded). Jobs are kept in Redis until their adapter is written, so a coordinator stopped at any
 * point and run again collects what finished meanwhile and waits for the rest; a job that has vanished
 * (Redis restarted without its data) is queued again. A job failing `attempts` times ends the build,
 * after the others have finished, with its cluster named.
 */
export function queueTraining(options: QueueTrainingOptions): RemoteTraining {
    const { redis, events = {} } = options;
    return async (jobs, save) => {
        await checkRedis(redis);
        const reportError = (error: Error) => events.onConnectionError?.(`Redis at ${redis.shown}: ${error.message}`);
        const queue = new Queue<ClusterJob, AdapterJobResult>(QUEUE_NAME, { connection: redis.options, streams: { events: { maxLen: EVENT_STREAM_LENGTH } } });
        const queueEvents = new QueueEvents(QUEUE_NAME, { connection: redis.options });
        queue.on("error", reportError);
        queueEvents.on("error", reportError);
        const pending = new Map(jobs.map((job) => [adapterJobId(job), job]));
        const progress = new Map<string, AdapterJobProgress>();
        queueEvents.on("progress", ({ jobId, data }) => {
            if (pending.has(jobId) && isProgress(data)) progress.set(jobId, data);
        });
        const failures: string[] = [];
        try {
            for (const [id, job] of pending) await enqueue(queue, id, job, options.attempts);
            while (pending.size > 0) {
                for (const [id, job] of pending) {
                    const state = await queue.getJobState(id);
                    if (state === "unknown") {
                        await enqueue(queue, id, job, options.attempts);
                    } else if (state === "completed") {
                        const done = (await queue.getJob(id))!; // completed jobs stay until removed here
                        await save(...checkedResult(job, done));
                        await done.remove();
                        pending.delete(id);
                        events.onJob?.(job.cluster, "done", progress.get(id));
                    } else if (state === "failed") {
                        const failed = await queue.getJob(id);
                        failures.push(`${adapterId(job.cluster)} failed ${failed?.attemptsMade ?? options.attempts} times (${failed?.failedReason ?? "no reason given"})`);
                        pending.delete(id);
                        events.onJob?.(job.cluster, "failed", progress.get(id));
                    } else {
                        events.onJob?.(job.cluster, state === "active" ? "running" : "waiting", progress.get(id));
                    }
                }
                if (pending.size > 0) await sleep(POLL_MS);
            }
        } finally {
            await queueEvents.close();
            await queue.close();
        }
        if (failures.length > 0) {
            throw new CrayonError(`${failures.join("; ")}; the other adapters are in the pool: run the same command again to retry`);
        }
    };
}

/**
 * Adds the job unless the queue already holds it (BullMQ ignores an id it has), and replaces one that
 * failed in an earlier run so that it gets its attempts afresh.
 */
async function enqueue(queue: Queue<ClusterJob, AdapterJobResult>, id: string, job: ClusterJob, attempts: number): Promise<void> {
    if ((await queue.getJobState(id)) === "failed") await (await queue.getJob(id))?.remove();
    await queue.add(TRAIN_JOB, job, { jobId: id, attempts, backoff: { type: "fixed", delay: RETRY_DELAY_MS }, removeOnComplete: false, removeOnFail: false });
}

/** The worker's result, checked: the record is this cluster's and the bytes are the file it describes. */
function checkedResult(job: ClusterJob, done: Job<ClusterJob, AdapterJobResult>): [AdapterJobResult["adapter"], Uint8Array] {
    const { adapter, gguf } = done.returnvalue;
    const id = adapterId(job.cluster);
    const bytes = Buffer.from(gguf, "base64");
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    if (adapter.id !== id || adapter.cluster !== job.cluster || adapter.file !== adapterFile(id) || adapter.sha256 !== sha256) {
        throw new CrayonError(`job ${done.id}: the worker's result is not ${id}'s adapter (record or sha256 differ); delete the job from the queue and run again`);
    }
    return [adapter, bytes];
}

function isProgress(data: unknown): data is AdapterJobProgress {
    const p = data as Partial<AdapterJobProgress> | null;
    return typeof p === "object" && p !== null && Number.isFinite(p.step) && Number.isFinite(p.totalSteps);
}
