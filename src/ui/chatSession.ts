import { loadUserExamples } from "../data/loaders/userExamples.js";
import { CrayonError } from "../errors.js";
import { scoredAs, type QaItem } from "../data/item.js";
import { OPTION_LETTERS, type ScoringMode } from "../data/prompt.js";
import { calibrateThresholds } from "../hybrid/calibrate.js";
import { parseMultipleChoice } from "../hybrid/parseMessage.js";
import { parseRoutingPolicy, type RoutingPolicy, type RoutingSignals } from "../hybrid/policy.js";
import { HybridRouter, type RouteInfo, type ServerAnswerer } from "../hybrid/router.js";
import { TaskScope, type EmbedTexts } from "../hybrid/taskScope.js";
import type { DeviceModel } from "../runtime/deviceModel.js";

/** One line of the conversation as the chat shows it. */
export interface ChatLine {
    kind: "user" | "answer" | "info" | "error";
    text: string;
    /** answers: "device 0.83", "server 0.91", "device 0.55 fallback" */
    tag?: string;
}

export interface ChatSessionSetup {
    device: DeviceModel;
    /** how questions and examples are scored: as the pool's adapters were trained */
    scoring: ScoringMode;
    /** the configured server; `/server off` stops using it without forgetting it */
    server?: ServerAnswerer;
    serverLabel?: string;
    policy: RoutingPolicy;
    /** θ and σ given on the command line; missing ones are calibrated from the examples (θ is 0.5 until then) */
    confidenceThreshold?: number;
    scopeThreshold?: number;
    /** the share of the examples the calibrated thresholds would route: 0…1 */
    serverShare: number;
    /** embeds texts on the device, for the scope policies; undefined = scope unavailable */
    embed?: EmbedTexts;
    /** re-blends the adapter from examples: the new adapter's path and lines about the blend (coverage); undefined = no pool */
    blend?: (examples: readonly QaItem[]) => Promise<{ adapterPath: string; notes: string[] }>;
    /** names the active adapter (and its blend weights) */
    describeAdapter: (adapterPath: string) => Promise<string>;
}

export const CHAT_HELP = [
    "a question with options (\"question A. … B. …\", one line or several) is answered by scoring; anything else by greedy generation",
    "/examples <file>   load examples (.jsonl or .csv): re-blend the adapter and calibrate the thresholds",
    "/policy <device|server|confidence|scope|confidence+scope> [threshold]   routing policy; the threshold is θ (or σ for scope)",
    "/server on|off     use the server or answer everything on the device",
    "/help              this help",
    "/quit              leave"
];

/** θ before any examples calibrate it, when none is given. */
const DEFAULT_CONFIDENCE_THRESHOLD = 0.5;

/**
 * The chat's state and behaviour apart from any terminal: a message in, lines out. The ink UI and the
 * piped line mode both drive it.
 */
export class ChatSession {
    readonly router: HybridRouter;
    adapterLabel = "none";
    examplesLabel = "none";
    private serverOn: boolean;
    private thresholds: { confidence?: number; scope?: number };

    constructor(private readonly setup: ChatSessionSetup) {
        this.serverOn = setup.server !== undefined;
        this.thresholds = { confidence: setup.confidenceThreshold ?? DEFAULT_CONFIDENCE_THRESHOLD, scope: setup.scopeThreshold };
        this.router = new HybridRouter({ policy: setup.policy, thresholds: this.thresholds, server: setup.server });
    }

    /** The status line: policy with thresholds, server state. */
    get routingLabel(): string {
        const { confidence, scope } = this.thresholds;
        const shown = [confidence === undefined ? "" : `θ ${confidence.toFixed(2)}`, scope === undefined ? "" : `σ ${scope.toFixed(2)}`].filter(Boolean);
        const server = this.setup.server === undefined ? "no server" : `server ${this.serverOn ? "on" : "off"} (${this.setup.serverLabel ?? "configured"})`;
        return `policy ${this.router.settings.policy}${shown.length > 0 ? ` ${shown.join(" ")}` : ""} · ${server}`;
    }

    async setAdapter(adapterPath: string | undefined): Promise<void> {
        this.setup.device.adapters = adapterPath === undefined ? [] : [{ path: adapterPath, scale: 1 }];
        this.adapterLabel = adapterPath === undefined ? "none" : await this.setup.describeAdapter(adapterPath);
    }

    /**
     * Handles one message or slash command. `quit` asks the caller to end the session; `failed` says the
     * message got no answer (an error), so a script driving the chat can exit non-zero.
     */
    async handle(input: string): Promise<{ lines: ChatLine[]; quit: boolean; failed?: boolean }> {
        const text = input.trim();
        if (text === "") return { lines: [], quit: false };
        try {
            if (text.startsWith("/")) return await this.command(text);
            return { lines: await this.answer(text), quit: false };
        } catch (error) {
            return { lines: [{ kind: "error", text: (error as Error).message }], quit: false, failed: true };
        }
    }

    /** The answer line, preceded by the server's error when the device answer is a fallback. */
    private async answer(text: string): Promise<ChatLine[]> {
        const parsed = parseMultipleChoice(text);
        const item = parsed === undefined ? undefined : scoredAs([parsed], this.setup.scoring)[0]!;
        let route: RouteInfo;
        let line: ChatLine;
        if (item !== undefined) {
            const routed = await this.router.answerItem(item, this.setup.device);
            const { choice, confidence } = routed.scores;
            route = routed;
            line = { kind: "answer", tag: tag(routed, confidence), text: `${OPTION_LETTERS[choice]}. ${item.choices[choice]}` };
        } else {
            const routed = await this.router.answerText(text, this.setup.device);
            route = routed;
            // a model's text may hold control characters (byte tokens) that would garble a terminal
            const shown = routed.text.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, "");
            line = { kind: "answer", tag: tag(routed, routed.confidence), text: shown === "" ? "(no answer)" : shown };
        }
        return route.serverError === undefined ? [line] : [{ kind: "error", text: route.serverError }, line];
    }

    private async command(text: string): Promise<{ lines: ChatLine[]; quit: boolean }> {
        const [name, ...args] = text.split(/\s+/);
        const info = (...lines: string[]) => ({ lines: lines.map((line): ChatLine => ({ kind: "info", text: line })), quit: false });
        switch (name) {
            case "/quit":
            case "/exit":
                return { lines: [], quit: true };
            case "/help":
                return info(...CHAT_HELP);
            case "/server": {
                if (args[0] !== "on" && args[0] !== "off") return info("usage: /server on|off");
                if (this.setup.server === undefined) return info("no server is configured; start chat with --server <url>");
                this.serverOn = args[0] === "on";
                this.router.settings.server = this.serverOn ? this.setup.server : undefined;
                return info(this.routingLabel);
            }
            case "/policy": {
                if (args[0] === undefined) return info(this.routingLabel);
                const policy = parseRoutingPolicy(args[0]);
                if (args[1] !== undefined) {
                    const value = Number(args[1]);
                    if (!Number.isFinite(value)) return info(`the threshold must be a number, found "${args[1]}"`);
                    if (policy === "scope") this.thresholds.scope = value;
                    else this.thresholds.confidence = value;
                }
                this.router.settings.policy = policy;
                return info(this.routingLabel);
            }
            case "/examples": {
                const file = args.join(" ");
                if (file === "") return info("usage: /examples <file.jsonl|file.csv>");
                return info(...(await this.loadExamples(file)));
            }
            default:
                return info(`unknown command ${name}; /help lists them`);
        }
    }

    /** Loads examples: re-blends (when a pool is there), builds the task scope, calibrates missing thresholds. */
    async loadExamples(file: string): Promise<string[]> {
        const examples = scoredAs(await loadUserExamples(file), this.setup.scoring);
        if (examples.length === 0) throw new CrayonError(`${file}: no examples; write one question with its choices and answer per line`);
        const lines = [`${examples.length} examples from ${file}`];
        this.examplesLabel = `${examples.length} from ${file}`;
        if (this.setup.blend !== undefined) {
            const { adapterPath, notes } = await this.setup.blend(examples);
            await this.setAdapter(adapterPath);
            lines.push(`re-blended: ${this.adapterLabel}`, ...notes);
        } else lines.push("no pool given (--pool), so the adapter is kept as it is");
        const scope = this.setup.embed === undefined ? undefined : await TaskScope.fromExamples(this.setup.embed, examples);
        this.router.settings.scope = scope;
        const similarities = scope !== undefined && examples.length >= 2 ? scope.leaveOneOutSimilarities() : undefined;
        const signals: RoutingSignals[] = [];
        for (const [i, example] of examples.entries()) {
            signals.push({ confidence: (await this.setup.device.scoreItem(example)).confidence, scope: similarities?.[i] });
        }
        const calibrated = calibrateThresholds("confidence", signals, this.setup.serverShare);
        if (this.setup.confidenceThreshold === undefined) this.thresholds.confidence = calibrated.confidence;
        if (this.setup.scopeThreshold === undefined && similarities !== undefined) {
            this.thresholds.scope = calibrateThresholds("scope", signals, this.setup.serverShare).scope;
        }
        lines.push(`calibrated to route ${Math.round(this.setup.serverShare * 100)}% of the examples: ${this.routingLabel}`);
        return lines;
    }
}

/** "device 0.83", "server 0.91", "server" (free text), "device 0.55 fallback". */
function tag(route: RouteInfo, confidence: number | undefined): string {
    return [route.via, confidence === undefined ? "" : confidence.toFixed(2), route.fallback ? "fallback" : ""].filter(Boolean).join(" ");
}
