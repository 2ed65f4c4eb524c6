import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { timingSafeEqual } from "node:crypto";
import {
    parseChatRequest, parseCompletionRequest, runChatCompletion, runCompletion, streamChatCompletion, type ServedModel
} from "./completions.js";
import { HttpError, readJsonBody, sendError, sendJson } from "./httpJson.js";
import { RequestQueue } from "./requestQueue.js";
import type { RequestLogEntry, TokenCounts } from "./requestLog.js";
import { watchChatStream } from "./streamUsage.js";

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
    /** sees every request body the server accepted, as received */
    onRequest?: (method: string, path: string, body: unknown) => void;
    /** called once per request when its response is finished (or its connection closed): the request log */
    onResponse?: (entry: RequestLogEntry) => void;
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
        const started = performance.now();
        const tokens: TokenCounts = {};
        res.once("close", () => options.onResponse?.({ method: req.method ?? "?", path: routePath(req), status: res.statusCode, ms: performance.now() - started, ...tokens }));
        handle(req, res, tokens).catch((error: unknown) => {
            const httpError = error instanceof HttpError ? error : new HttpError(500, `internal error: ${(error as Error).message}`, "server_error");
            sendError(res, httpError, httpError.status === 429 ? { "retry-after": "1" } : {});
        });
    });

    async function handle(req: IncomingMessage, res: ServerResponse, tokens: TokenCounts): Promise<void> {
        const path = routePath(req);
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
        checkModel(body, served.id);
        const includeUsage = streamIncludesUsage(body);
        const clientGone = () => res.destroyed;
        const answer = (response: object): void => {
            Object.assign(tokens, usageOf(response));
            sendJson(res, 200, response);
        };
        if (path === "/v1/completions") {
            const request = parseCompletionRequest(served, body);
            answer(await queue.run(() => runCompletion(served, request, clientGone)));
            return;
        }
        const request = parseChatRequest(served, body);
        if (request.stream) {
            watchChatStream(res, request.prompt.length, includeUsage, tokens);
            await queue.run(() => streamChatCompletion(served, request, res));
        } else answer(await queue.run(() => runChatCompletion(served, request, clientGone)));
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

/** The request's route: its path without the query string or a trailing slash. */
function routePath(req: IncomingMessage): string {
    return new URL(req.url ?? "/", "http://localhost").pathname.replace(/\/+$/, "");
}

/** As OpenAI answers: no model is a 400, a model this server does not serve a 404 `model_not_found`. */
function checkModel(body: unknown, servedId: string): void {
    if (typeof body !== "object" || body === null || Array.isArray(body)) return; // the request parser refuses it with a 400
    const model = (body as Record<string, unknown>).model;
    if (model === undefined || model === null || model === "") throw new HttpError(400, `"model" is required: this server serves "${servedId}"`);
    if (model !== servedId) {
        throw new HttpError(404, `the model ${JSON.stringify(model)} does not exist on this server; it serves "${servedId}" (GET /v1/models)`, "invalid_request_error", "model_not_found");
    }
}

/** `stream_options: {include_usage: true}`, which OpenAI accepts only on a stream. */
function streamIncludesUsage(body: unknown): boolean {
    if (typeof body !== "object" || body === null) return false; // the request parser refuses it with a 400
    const { stream, stream_options: streamOptions } = body as Record<string, unknown>;
    if (streamOptions === undefined || streamOptions === null) return false;
    if (stream !== true) throw new HttpError(400, `"stream_options" is only allowed with "stream": true`);
    if (typeof streamOptions !== "object" || Array.isArray(streamOptions)) throw new HttpError(400, `"stream_options" must be an object such as {"include_usage": true}`);
    const includeUsage = (streamOptions as Record<string, unknown>).include_usage ?? false;
    if (typeof includeUsage !== "boolean") throw new HttpError(400, `"stream_options.include_usage" must be true or false, found ${JSON.stringify(includeUsage)}`);
    return includeUsage;
}

/** The token counts of a finished (non-streamed) response, from its `usage`. */
function usageOf(response: object): TokenCounts {
    const usage = (response as { usage?: { prompt_tokens: number; completion_tokens: number } }).usage;
    return usage === undefined ? {} : { promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens };
}

function bearerMatches(header: string | undefined, apiKey: string): boolean {
    const given = Buffer.from(header ?? "");
    const wanted = Buffer.from(`Bearer ${apiKey}`);
    return given.length === wanted.length && timingSafeEqual(given, wanted);
}
