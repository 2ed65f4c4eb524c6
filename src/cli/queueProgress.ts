import cliProgress from "cli-progress";
import type { AdapterJobProgress } from "../pool/queue/adapterJob.js";
import type { JobPhase, QueueTrainingEvents } from "../pool/queue/queueTraining.js";
import { adapterId } from "../pool/poolFiles.js";

/** A bar's own format: among `build-pool`'s bars, whose shared format is about local training. */
const FORMAT = "{label} {bar} {value}/{total} {status}";

/**
 * A queued build's progress, drawn among the build's other bars: one for the pool with its jobs counted
 * by phase (done / running / waiting / failed), and one of steps for each job a worker is training.
 */
export class QueueProgress {
    private readonly phases = new Map<number, JobPhase>();
    private readonly running = new Map<number, cliProgress.SingleBar>();
    private overall: cliProgress.SingleBar | undefined;

    constructor(private readonly bars: cliProgress.MultiBar) {}

    events(): QueueTrainingEvents {
        return {
            onJob: (cluster, phase, progress) => this.update(cluster, phase, progress),
            onConnectionError: (message) => this.bars.log(`${message}; reconnecting\n`)
        };
    }

    private update(cluster: number, phase: JobPhase, progress: AdapterJobProgress | undefined): void {
        this.phases.set(cluster, phase);
        const counts = (["done", "running", "waiting", "failed"] as const).map((p) => `${p} ${[...this.phases.values()].filter((q) => q === p).length}`);
        const done = [...this.phases.values()].filter((p) => p === "done").length;
        this.overall ??= this.bars.create(this.phases.size, 0, { label: "pool ", status: "" }, { format: FORMAT });
        this.overall.setTotal(this.phases.size);
        this.overall.update(done, { status: `jobs | ${counts.join(" / ")}` });
        let bar = this.running.get(cluster);
        if (phase !== "running") {
            if (bar !== undefined) this.bars.remove(bar);
            this.running.delete(cluster);
            return;
        }
        const loss = progress?.loss === undefined ? "-" : progress.loss.toFixed(4);
        bar ??= this.bars.create(progress?.totalSteps ?? 1, 0, { label: adapterId(cluster).padEnd(5), status: "" }, { format: FORMAT });
        this.running.set(cluster, bar);
        if (progress !== undefined) bar.setTotal(progress.totalSteps);
        bar.update(progress?.step ?? 0, { status: `steps | loss ${loss}` });
    }
}
