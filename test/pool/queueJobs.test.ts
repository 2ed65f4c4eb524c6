import { describe, expect, it } from "vitest";
import type { ClusterJob } from "../../src/pool/clusterAdapter.js";
import { adapterJobId, clusterJobProblem } from "../../src/pool/queue/adapterJob.js";
import { parseRedisUrl } from "../../src/pool/queue/redisConnection.js";

describe("parseRedisUrl", () => {
    it("takes the password, user, database and TLS from the URL and never shows the password", () => {
        const plain = parseRedisUrl("redis://:p%40ss%20word@queue.example:6380/2", "--queue");
        expect(plain.options).toMatchObject({ host: "queue.example", port: 6380, db: 2, password: "p@ss word", maxRetriesPerRequest: null });
        expect(plain.options.tls).toBeUndefined();
        expect(plain.shown).toBe("redis://:***@queue.example:6380/2");
        const tls = parseRedisUrl("rediss://builder:pw@10.0.0.5", "--queue");
        expect(tls.options).toMatchObject({ host: "10.0.0.5", port: 6379, db: 0, username: "builder", password: "pw", tls: { servername: "10.0.0.5" } });
        expect(tls.shown).toBe("rediss://builder:***@10.0.0.5");
    });

    it("refuses what is not a Redis URL in one line that names the option and hides the password", () => {
        expect(() => parseRedisUrl("http://:secret@host:6379", "--queue")).toThrow(/^--queue must be redis:\/\/.*found "http:\/\/:\*\*\*@host:6379"$/);
        expect(() => parseRedisUrl("redis://:secret@host/x", "--queue")).toThrow(/^--queue: the database .* found "redis:\/\/:\*\*\*@host\/x"$/);
        expect(() => parseRedisUrl("not a url :secret@", "--queue")).not.toThrow(/secret/);
    });
});

describe("clusterJobProblem", () => {
    const job: ClusterJob = {
        poolName: "pool",
        baseModel: { sha256: "ab".repeat(32), architecture: "llama", embeddingLength: 32, blockCount: 2, vocabSize: 100, fileName: "base.gguf" },
        settings: { data: "tiny", items: 1, itemsHash: "1", rank: 4, alpha: 8, targets: ["q", "v"], steps: 30, learningRate: 0.05, batchSize: 8, seqLen: 256, seed: 3, heldOutShare: 0.2, validationShare: 0.2, rotateChoices: true },
        cluster: 1,
        members: [{ id: "w/1", source: "world", task: "rank.max2", question: "Rank: bigger of 3 and 9?", choices: ["3", "9"], answer: 1 }]
    };
    const roundTrip = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

    it("accepts a job as it comes back from Redis, under the id that hashes it", () => {
        expect(adapterJobId(job)).toMatch(/^c01-[0-9a-f]{16}$/);
        expect(clusterJobProblem(adapterJobId(job), roundTrip(job))).toBeNull();
    });

    it("refuses data changed under its id, an id that is a path, and data that is not a training job", () => {
        const changed = { ...job, settings: { ...job.settings, steps: 31 } };
        expect(clusterJobProblem(adapterJobId(job), roundTrip(changed))).toMatch(/id is not the hash/);
        expect(clusterJobProblem("../../etc", roundTrip(job))).toMatch(/id is not the hash/);
        expect(clusterJobProblem(adapterJobId(job), { ...job, settings: { ...job.settings, targets: ["q", "rm -rf"] } })).toMatch(/targets/);
        expect(clusterJobProblem(adapterJobId(job), { ...job, members: [{ id: 1 }] })).toMatch(/not QA items/);
        expect(clusterJobProblem(adapterJobId(job), "train")).toMatch(/not an object/);
    });
});
