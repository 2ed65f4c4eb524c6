/** A throw-away Redis server on loopback for the queue tests: Debian's redis-server, no persistence. */
import { spawnSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { createServer } from "node:net";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";

export interface TestRedis {
    /** redis://:password@127.0.0.1:port */
    url: string;
    /** FLUSHALL: the next test starts with an empty queue */
    flush(): Promise<void>;
    /** stops the server and starts it again on the same port: empty, as after a crash without persistence */
    restart(): Promise<void>;
    stop(): Promise<void>;
}

/** Whether redis-server can be run here; the queue tests are skipped (saying why) when it cannot. */
export const redisServerInstalled = spawnSync("redis-server", ["--version"]).error === undefined;

async function freePort(): Promise<number> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    await new Promise((resolve) => server.close(resolve));
    return port;
}

/** Starts redis-server on a free loopback port, password-protected, files in `dir`; resolves once it answers. */
export async function startTestRedis(dir: string, password: string): Promise<TestRedis> {
    const port = await freePort();
    const pidFile = path.join(dir, `redis-${port}.pid`);
    const client = new Redis({ host: "127.0.0.1", port, password, lazyConnect: true, retryStrategy: () => 100 });
    client.on("error", () => undefined); // refused while the daemon is not listening
    const launch = async () => {
        const started = spawnSync("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "yes", "--pidfile", pidFile, "--dir", dir, "--requirepass", password]);
        if (started.status !== 0) throw new Error(`redis-server did not start: ${started.stderr.toString()}`);
        for (let tries = 0; ; tries++) {
            try {
                await client.connect().catch(() => undefined);
                await client.ping();
                return;
            } catch (error) {
                if (tries > 100) throw error;
                await sleep(50);
            }
        }
    };
    const shutDown = async () => {
        const pid = Number((await readFile(pidFile, "utf8")).trim());
        process.kill(pid, "SIGTERM");
        while (await isRunning(pid)) await sleep(20);
    };
    await launch();
    return {
        url: `redis://:${encodeURIComponent(password)}@127.0.0.1:${port}`,
        flush: async () => void (await client.flushall()),
        restart: async () => {
            await shutDown();
            await launch();
        },
        stop: async () => {
            client.disconnect();
            await shutDown();
        }
    };
}

async function isRunning(pid: number): Promise<boolean> {
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
}
