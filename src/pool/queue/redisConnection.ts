import type { RedisOptions } from "bullmq";
import { Redis } from "ioredis";
import { CrayonError } from "../../errors.js";

/** Where the build queue lives: connection options (BullMQ passes them to ioredis), and the URL as it may be shown (no password). */
export interface RedisTarget {
    options: RedisOptions;
    /** `redis://host:port/db`, the password replaced by `***`: the only form that reaches a log or an error */
    shown: string;
}

/** How long a command-line tool waits for Redis to answer at start before saying it cannot reach it. */
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * `redis://[[user]:password@]host[:port][/db]`, or `rediss://…` for TLS (the host name is checked against
 * the server's certificate). Options without a per-command retry limit: BullMQ's workers need that, and
 * it lets a coordinator or worker wait through a Redis restart instead of failing.
 */
export function parseRedisUrl(text: string, option: string): RedisTarget {
    const expected = `${option} must be redis://[:password@]host[:port][/db] or rediss://… for TLS`;
    let url: URL;
    try {
        url = new URL(text);
    } catch {
        throw new CrayonError(`${expected}, found "${text.replace(/:[^:@/]*@/, ":***@")}"`);
    }
    const shown = `${url.protocol}//${url.password === "" ? "" : `${url.username}:***@`}${url.host}${url.pathname === "/" ? "" : url.pathname}`;
    if ((url.protocol !== "redis:" && url.protocol !== "rediss:") || url.hostname === "") throw new CrayonError(`${expected}, found "${shown}"`);
    const dbText = url.pathname.replace(/^\//, "");
    const db = dbText === "" ? 0 : Number(dbText);
    if (!Number.isInteger(db) || db < 0) throw new CrayonError(`${option}: the database after the host must be a number such as /0, found "${shown}"`);
    const hostname = url.hostname.replace(/^\[(.*)\]$/, "$1"); // an IPv6 literal without its brackets
    const options: RedisOptions = {
        host: hostname,
        port: url.port === "" ? 6379 : Number(url.port),
        db,
        maxRetriesPerRequest: null,
        ...(url.username === "" ? {} : { username: decodeURIComponent(url.username) }),
        ...(url.password === "" ? {} : { password: decodeURIComponent(url.password) }),
        ...(url.protocol === "rediss:" ? { tls: { servername: hostname } } : {})
    };
    return { options, shown };
}

/**
 * Connects once and pings, so that a wrong address, password or TLS setting is one clear error at start
 * rather than a queue that waits forever.
 */
export async function checkRedis(target: RedisTarget): Promise<void> {
    const client = new Redis({ ...target.options, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: CONNECT_TIMEOUT_MS });
    // the server's own refusal (WRONGPASS, a TLS failure) arrives as an event; the rejected call only says the connection closed
    let refusal: Error | undefined;
    client.on("error", (error: Error) => (refusal ??= error));
    try {
        await client.connect();
        await client.ping();
    } catch (error) {
        throw new CrayonError(`cannot use Redis at ${target.shown}: ${(refusal ?? (error as Error)).message.replace(/\.$/, "")}; check the address and password, and that the server is running`);
    } finally {
        client.disconnect();
    }
}
