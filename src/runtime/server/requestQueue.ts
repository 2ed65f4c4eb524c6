import { HttpError } from "./httpJson.js";

/**
 * Runs tasks one at a time (one model, one sequence) and admits at most `maxPending` of them at once,
 * the running one included; past that a request is refused with 429 instead of piling up.
 */
export class RequestQueue {
    private tail: Promise<void> = Promise.resolve();
    private admitted = 0;

    constructor(readonly maxPending: number) {}

    /** requests running or waiting */
    get pending(): number {
        return this.admitted;
    }

    run<T>(task: () => Promise<T>): Promise<T> {
        if (this.admitted >= this.maxPending) {
            return Promise.reject(new HttpError(429, `the server is busy: ${this.admitted} requests are already queued; retry later`, "server_busy", "queue_full"));
        }
        this.admitted++;
        const result = this.tail.then(task);
        this.tail = result.then(
            () => undefined,
            () => undefined
        ).finally(() => {
            this.admitted--;
        });
        return result;
    }

    /** Resolves when everything admitted so far has finished. */
    drained(): Promise<void> {
        return this.tail;
    }
}
