import type { IncomingMessage, ServerResponse } from "node:http";

/** An error a request handler turns into an OpenAI-style JSON error response. */
export class HttpError extends Error {
    constructor(readonly status: number, message: string, readonly type = "invalid_request_error", readonly code: string | null = null) {
        super(message);
        this.name = "HttpError";
    }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers });
    res.end(text);
}

/** `{"error": {message, type, param, code}}`, the shape OpenAI clients parse. */
export function sendError(res: ServerResponse, error: HttpError, headers: Record<string, string> = {}): void {
    if (res.headersSent) {
        res.destroy();
        return;
    }
    sendJson(res, error.status, { error: { message: error.message, type: error.type, param: null, code: error.code } }, headers);
}

/**
 * Reads and parses a JSON body of at most `limit` bytes. A larger body is refused as soon as it is seen
 * (413) and the rest is read and dropped, so the client gets the answer rather than a reset connection.
 */
export function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
    return new Promise((resolve, reject) => {
        const declared = Number(req.headers["content-length"]);
        const tooLarge = () => new HttpError(413, `the request body is larger than ${limit} bytes`, "invalid_request_error", "body_too_large");
        if (declared > limit) {
            req.resume();
            reject(tooLarge());
            return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        let refused = false;
        req.on("data", (chunk: Buffer) => {
            if (refused) return;
            size += chunk.length;
            if (size > limit) {
                refused = true;
                chunks.length = 0;
                reject(tooLarge());
            } else chunks.push(chunk);
        });
        req.on("error", reject);
        req.on("end", () => {
            if (refused) return;
            try {
                resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")));
            } catch (error) {
                reject(new HttpError(400, `the request body is not valid JSON: ${(error as Error).message}`));
            }
        });
    });
}
