import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { CrayonError } from "../errors.js";
import { projectRoot } from "../version.js";

/** ms `crayon serve` may take to load its model and answer /health. */
const START_TIMEOUT_MS = 120_000;
/** ms a stopping server may take to finish before it is killed. */
const STOP_TIMEOUT_MS = 5_000;

export interface ServerProcess {
    /** the OpenAI base URL, e.g. "http://127.0.0.1:41234/v1" */
    baseUrl: string;
    /** the model id the server answers to: the model file's name without .gguf */
    modelId: string;
    /** Stops the server (SIGTERM, then SIGKILL after a grace period); safe to call twice. */
    stop(): Promise<void>;
}

/**
 * Starts `crayon serve` for `modelPath` as a child process on loopback with a free port, so the eval's
 * server side is real HTTP to a separate process, as in a deployment. Resolves once /health answers.
 * The child is killed if this process exits without stopping it.
 */
export async function startServerProcess(modelPath: string, { threads }: { threads: number }): Promise<ServerProcess> {
    const bin = path.join(projectRoot, "bin", "crayon.js");
    const child = spawn(process.execPath, [bin, "serve", "--model", modelPath, "--host", "127.0.0.1", "--port", "0", "--threads", String(threads)], {
        stdio: ["ignore", "pipe", "pipe"]
    });
    const killOnExit = () => child.kill("SIGKILL");
    process.once("exit", killOnExit);
    let stderr = "";
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr = (stderr + chunk).slice(-2000)));
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    const stop = async () => {
        process.removeListener("exit", killOnExit);
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
    };
    try {
        const url = await listeningUrl(child, () => stderr);
        await waitForHealth(url);
        return { baseUrl: `${url}/v1`, modelId: spawnedModelId(modelPath), stop };
    } catch (error) {
        await stop();
        throw error;
    }
}

/** The URL `crayon serve` prints on stdout ("listening on http://127.0.0.1:PORT/v1"), without /v1. */
function listeningUrl(child: ChildProcess, stderr: () => string): Promise<string> {
    return new Promise((resolve, reject) => {
        let stdout = "";
        const timer = setTimeout(() => fail(`no "listening on" line within ${START_TIMEOUT_MS / 1000} s`), START_TIMEOUT_MS);
        const fail = (why: string) => {
            clearTimeout(timer);
            const detail = stderr().trim().split("\n").at(-1) ?? "";
            reject(new CrayonError(`the server model could not be served (crayon serve: ${why}${detail === "" ? "" : `: ${detail}`})`));
        };
        child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
            stdout += chunk;
            const match = /listening on (\S+)\/v1/.exec(stdout);
            if (match !== null) {
                clearTimeout(timer);
                resolve(match[1]!);
            }
        });
        child.once("exit", (code, signal) => fail(`exited with ${signal ?? `code ${code}`}`));
        child.once("error", (error) => fail(error.message));
    });
}

async function waitForHealth(url: string): Promise<void> {
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
        const response = await fetch(`${url}/health`).catch(() => undefined);
        if (response?.ok) return;
        if (Date.now() > deadline) throw new CrayonError(`crayon serve at ${url} did not answer /health within ${START_TIMEOUT_MS / 1000} s`);
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
}

/** The model id `crayon serve` gives the model file it serves: its name without `.gguf`. */
export function spawnedModelId(modelPath: string): string {
    return path.basename(modelPath, ".gguf");
}
