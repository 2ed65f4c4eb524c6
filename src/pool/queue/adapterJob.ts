import { createHash } from "node:crypto";
import type { QaItem } from "../../data/item.js";
import { LORA_TARGETS } from "../../gguf/constants.js";
import type { ClusterJob } from "../clusterAdapter.js";
import type { PoolAdapter } from "../manifest.js";
import { adapterId } from "../poolFiles.js";

/** The BullMQ queue a pool build's training jobs go through, and the one kind of job in it. */
export const QUEUE_NAME = "crayon-build-pool";
export const TRAIN_JOB = "train-adapter";

/**
 * What a worker hands back: the adapter's manifest record and its GGUF file, base64. The file travels in
 * the job's result rather than through a shared folder so that coordinator and workers need nothing in
 * common but the Redis URL: a pool's adapters are small (rank 8 on all seven projections: 0.3 MB for the
 * embedded device model, about 18 MB by the shapes of a 0.5 B-parameter one), and the coordinator deletes each job
 * once its adapter is written.
 */
export interface AdapterJobResult {
    adapter: PoolAdapter;
    gguf: string;
}

/** A worker's `job.updateProgress`: the step reached of the adapter's total. */
export interface AdapterJobProgress {
    step: number;
    totalSteps: number;
    /** mean loss of the latest step, nats per answer token; absent before the first step */
    loss?: number;
}

/**
 * `c03-<16 hex>`: the cluster and a hash of everything that decides its adapter. The same build asks for
 * the same ids, so a coordinator run again finds its jobs (running, or finished while it was away), and a
 * worker's checkpoints, kept under the id, can only be continued by the same training.
 */
export function adapterJobId(job: ClusterJob): string {
    return `${adapterId(job.cluster)}-${createHash("sha256").update(JSON.stringify(job)).digest("hex").slice(0, 16)}`;
}

/** The cluster of a job id, for messages; null for an id that is not one of ours. */
export function jobCluster(jobId: string): string | null {
    return /^(c\d{2,})-[0-9a-f]{16}$/.exec(jobId)?.[1] ?? null;
}

/**
 * A job's data as a worker receives it from Redis, checked before anything is trained on it: the shape
 * of a `ClusterJob`, and an id that is its hash (so the data is what the coordinator sent, and the id is
 * safe as a folder name). Returns the problem, or null when the job is sound.
 */
export function clusterJobProblem(jobId: string | undefined, data: unknown): string | null {
    const job = data as Partial<ClusterJob> | null;
    if (typeof job !== "object" || job === null) return "its data is not an object";
    const settings = job.settings;
    const numbers = settings === undefined ? [] : [settings.rank, settings.alpha, settings.learningRate, settings.batchSize, settings.seqLen, settings.seed, settings.heldOutShare, settings.validationShare];
    if (typeof job.poolName !== "string" || typeof job.baseModel?.sha256 !== "string" || !Number.isInteger(job.cluster) || job.cluster! < 0) return "it lacks the pool name, base model or cluster";
    if (settings === undefined || numbers.some((n) => typeof n !== "number" || !Number.isFinite(n))) return "its training settings are incomplete";
    if ((settings.steps === undefined) === (settings.epochs === undefined)) return "it gives neither steps nor epochs, or both";
    if (!Array.isArray(settings.targets) || settings.targets.some((t) => !(LORA_TARGETS as readonly string[]).includes(t))) return "its LoRA targets are not known";
    if (!Array.isArray(job.members) || !job.members.every(isItem)) return "its items are not QA items";
    if (jobId !== adapterJobId(job as ClusterJob)) return "its id is not the hash of its data";
    return null;
}

function isItem(value: unknown): value is QaItem {
    const item = value as Partial<QaItem> | null;
    return (
        typeof item === "object" && item !== null &&
        typeof item.id === "string" && typeof item.task === "string" && typeof item.source === "string" && typeof item.question === "string" &&
        Array.isArray(item.choices) && item.choices.every((c) => typeof c === "string") &&
        Number.isInteger(item.answer) && (item.context === undefined || typeof item.context === "string") &&
        (item.scoring === undefined || item.scoring === "letter" || item.scoring === "cloze")
    );
}
