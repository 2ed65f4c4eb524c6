import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { timingSafeEqual } from "node:crypto";
import {
    parseChatRequest, parseCompletionRequest, runChatCompletion, runCompletion, streamChatCompletion, type ServedModel
} from "./completions.js";
import { HttpError, readJsonBody, sendError, sendJson } from "./httpJson.js";
import { RequestQueue } from "./requestQueue.js";

export interface OpenAiServerOptions {
    served: ServedModel;
    /** default 127.0.0.1: only this machine can reach the server unless asked */
    host?: string;
    /** 0 (default) = a free port chosen by the system */
    port?: number;
    /** when set, every /v1 request must carry `Authorization: Bearer <apiKey>` */
    apiKey?: string;
    /** bytes; default 1 MiB */
    maxBodyBytes?: number;
    /** requests admitted at once (one runs, the others wait); default 64 */
    maxPending?: number;
    /** sees every request body the server accepted, as received: a server's request log */
    onRequest?: (method: string, path: string, body: unknown) => void;
}

export interface RunningServer {
    /** e.g. "http://127.0.0.1:41234" — the OpenAI base URL is this + "/v1" */
    url: string;
    queue: RequestQueue;
    /** Stops accepting, lets admitted requests finish, closes the connections. */
    close(): Promise<void>;
}

/** ms a response still being read may take after shutdown before its connection is cut */
const CLOSE_GRACE_MS = 2000;

/** An OpenAI-compatible HTTP server over one llama model: models, completions (with logprobs), chat, health. */
export async function startOpenAiServer(options: OpenAiServerOptions): Promise<RunningServer> {
    const { served, host = "127.0.0.1", port = 0, maxBodyBytes = 1 << 20 } = options;
    const queue = new RequestQueue(options.maxPending ?? 64);
    const server = createServer((req, res) => {
        handle(req, res).catch((error: unknown) => {
            const httpError = error instanceof HttpError ? error : new HttpError(500, `internal error: ${(error as Error).message}`, "server_error");
            sendError(res, httpError, httpError.status === 429 ? { "retry-after": "1" } : {});
        });
    });

    async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
        const path = new URL(req.url ?? "/", "http://localhost").pathname.replace(/\/+$/, "");
        if (req.method === "GET" && path === "/health") {
            sendJson(res, 200, { status: "ok", model: served.id, pending: queue.pending });
            return;
        }
        if (!path.startsWith("/v1/")) throw new HttpError(404, `no route ${req.method} ${path}`, "invalid_request_error", "not_found");
        if (options.apiKey !== undefined && !bearerMatches(req.headers.authorization, options.apiKey)) {
            req.resume();
            throw new HttpError(401, "missing or wrong API key: send Authorization: Bearer <key>", "invalid_request_error", "invalid_api_key");
        }
        const route = `${req.method} ${path}`;
        if (route === "GET /v1/models") {
            sendJson(res, 200, { object: "list", data: [{ id: served.id, object: "model", created: 0, owned_by: "crayon" }] });
            return;
        }
        if (route !== "POST /v1/completions" && route !== "POST /v1/chat/completions") {
            throw new HttpError(404, `no route ${route}`, "invalid_request_error", "not_found");
        }
        const body = await readJsonBody(req, maxBodyBytes);
        options.onRequest?.(req.method!, path, body);
        const clientGone = () => res.destroyed;
        if (path === "/v1/completions") {
            const request = parseCompletionRequest(served, body);
            sendJson(res, 200, await queue.run(() => runCompletion(served, request, clientGone)));
            return;
        }
        const request = parseChatRequest(served, body);
        if (request.stream) await queue.run(() => streamChatCompletion(served, request, res));
        else sendJson(res, 200, await queue.run(() => runChatCompletion(served, request, clientGone)));
    }

    await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => resolve());
    });
    const address = server.address() as AddressInfo;
    const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
    return {
        url: `http://${shownHost}:${address.port}`,
        queue,
        async close() {
            const closed = new Promise<void>((resolve) => server.close(() => resolve()));
            server.closeIdleConnections();
            await queue.drained();
            // the last response is written just after the queue drains; then only idle keep-alive sockets remain
            await new Promise((resolve) => setImmediate(resolve));
            server.closeIdleConnections();
            const force = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS).unref();
            await closed;
            clearTimeout(force);
        }
    };
}

function bearerMatches(header: string | undefined, apiKey: string): boolean {
    const given = Buffer.from(header ?? "");
    const wanted = Buffer.from(`Bearer ${apiKey}`);
    return given.length === wanted.length && timingSafeEqual(given, wanted);
}
