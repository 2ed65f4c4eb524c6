import { createRequire } from "node:module";
import os from "node:os";
import { CrayonError } from "../../errors.js";
import { requestedThreads } from "../engine/backend.js";
import { findGgmlBuild } from "./library.js";
import type { GgmlReport } from "./selfCheck.js";
import { GgmlTrainingProcess } from "./trainingProcess.js";

/** The training engines: ggml (node-llama-cpp's native library), TensorFlow.js on tfjs-node, or on wasm. */
export const TRAINING_ENGINES = ["ggml", "tensorflow", "wasm"] as const;
export type TrainingEngine = (typeof TRAINING_ENGINES)[number];

export interface EngineChoice {
    engine: TrainingEngine;
    /** one line: the engine and why it was chosen (a fallback says what failed) */
    line: string;
    ggml: GgmlReport | null; // null when ggml was not considered
}

/** What the choice depends on, found on this machine by default (tests substitute their own). */
export interface EngineProbes {
    tfjsNodeInstalled: () => boolean;
    /** a node-llama-cpp GPU build (cuda, vulkan) whose package is installed and which this machine supports */
    gpuBuild: () => Promise<string | null>;
    checkGgml: () => Promise<GgmlReport>;
}

const require = createRequire(import.meta.url);
const ggmlChecks = new Map<string, Promise<GgmlReport>>(); // by build: a process checks each once

export const machineProbes: EngineProbes = {
    tfjsNodeInstalled() {
        try {
            require.resolve("@tensorflow/tfjs-node");
            return true;
        } catch {
            return false;
        }
    },
    async gpuBuild() {
        const { getLlamaGpuTypes } = await import("node-llama-cpp");
        for (const gpu of await getLlamaGpuTypes("supported")) {
            const name = `${process.platform}-${process.arch}-${gpu}`;
            if ((gpu === "cuda" || gpu === "vulkan") && findGgmlBuild(name) !== null) return name;
        }
        return null;
    },
    checkGgml() {
        const build = process.env["CRAYON_GGML_BUILD"] ?? "";
        if (!ggmlChecks.has(build)) ggmlChecks.set(build, GgmlTrainingProcess.check());
        return ggmlChecks.get(build)!;
    }
};

/**
 * Threads for the ggml engine: CRAYON_THREADS, else as for TensorFlow.js but only the cores not already
 * busy (at least one). ggml's threads spin at barriers, so a thread that shares a core with another
 * process stalls every step (measured: 3–10× slower steps). Results do not depend on the count.
 */
export function ggmlThreads(): number {
    if (process.env["CRAYON_THREADS"]) return requestedThreads();
    return Math.max(1, Math.min(requestedThreads(), Math.round(os.availableParallelism() - os.loadavg()[0]!)));
}

/**
 * The training engine: `requested` (--engine) or `CRAYON_ENGINE` when given, else ggml on a GPU build,
 * else TensorFlow.js (tfjs-node where it is installed, else wasm). On a CPU ggml is used only when asked
 * for: its LoRA training of a pool on the embedded device model diverged (loss 20–25 nats where the tfjs
 * engine reaches 0.3, every adapter kept at step 0), which the tiny-model tests do not show. ggml asked
 * for but failing its check falls back, and the line says why. A tfjs engine is passed on to the tfjs
 * set-up through `CRAYON_TF_BACKEND`.
 */
export async function chooseTrainingEngine(requested: string | undefined, probes: EngineProbes = machineProbes): Promise<EngineChoice> {
    const asked = requested ?? (process.env["CRAYON_ENGINE"] || undefined);
    if (asked !== undefined && !(TRAINING_ENGINES as readonly string[]).includes(asked)) {
        throw new CrayonError(`${requested === undefined ? "CRAYON_ENGINE" : "--engine"} ${asked} is not an engine: use one of ${TRAINING_ENGINES.join(", ")}`);
    }
    const tfjs = (engine: "tensorflow" | "wasm", line: string, ggml: GgmlReport | null): EngineChoice => {
        process.env["CRAYON_TF_BACKEND"] = engine;
        return { engine, line, ggml };
    };
    const tfjsDefault = probes.tfjsNodeInstalled() ? "tensorflow" : "wasm";
    if (asked === "tensorflow" || asked === "wasm") return tfjs(asked, `training engine: ${asked} (asked for)`, null);

    const gpu = asked === undefined ? await probes.gpuBuild().catch(() => null) : null;
    if (asked === undefined && gpu === null) {
        return tfjs(tfjsDefault, tfjsDefault === "tensorflow" ? "training engine: tensorflow (tfjs-node is installed)" : "training engine: wasm (on a CPU ggml only with --engine ggml)", null);
    }
    if (gpu !== null) process.env["CRAYON_GGML_BUILD"] = gpu;
    let report = await probes.checkGgml();
    if (!report.ok && gpu !== null) {
        // the GPU build's libraries failed: on the CPU, tfjs-node where installed, else the CPU build
        if (tfjsDefault === "tensorflow") return tfjs("tensorflow", `training engine: tensorflow — the ${gpu} build of ggml failed: ${report.reason}`, report);
        delete process.env["CRAYON_GGML_BUILD"];
        report = await probes.checkGgml();
        if (report.ok) return { engine: "ggml", line: `training engine: ggml on ${report.device} (the ${gpu} build failed its self-check)`, ggml: report };
    }
    if (report.ok) {
        const why = asked === "ggml" ? "asked for" : gpu !== null ? `${gpu} build` : "tfjs-node is not installed";
        return { engine: "ggml", line: `training engine: ggml on ${report.device} (${why})`, ggml: report };
    }
    return tfjs(tfjsDefault, `training engine: ${tfjsDefault} — ggml unavailable: ${report.reason}`, report);
}
