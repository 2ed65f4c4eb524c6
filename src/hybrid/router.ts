import type { QaItem } from "../data/item.js";
import { promptText } from "../data/prompt.js";
import type { OptionScores } from "../runtime/scoring.js";
import { routingReason, type RoutingPolicy, type RoutingSignals, type RoutingThresholds } from "./policy.js";
import type { TaskScope } from "./taskScope.js";

/** The device side: the small model with the blended adapter. */
export interface DeviceAnswerer {
    scoreItem(item: QaItem): Promise<OptionScores>;
    /** greedy free-text answer and its geometric-mean token probability */
    generate(text: string): Promise<{ text: string; confidence: number }>;
}

/** The server side: given only the query, never the user's examples or adapter. */
export interface ServerAnswerer {
    scoreItem(item: QaItem): Promise<OptionScores>;
    chat(messages: Array<{ role: "user"; content: string }>): Promise<string>;
}

export interface RouterSettings {
    policy: RoutingPolicy;
    thresholds: RoutingThresholds;
    /** undefined = server off: everything is answered on the device */
    server?: ServerAnswerer;
    /** the user's examples; needed by the scope policies */
    scope?: TaskScope;
}

/** Where an answer came from and why. */
export interface RouteInfo {
    via: "device" | "server";
    /** the router chose the server but it failed, so this is the device's answer */
    fallback: boolean;
    /** why the query was (or would have been) routed; null when the device was trusted */
    reason: string | null;
    signals: RoutingSignals;
    /** the server's error when `fallback` */
    serverError?: string;
}

export interface RoutedItemAnswer extends RouteInfo {
    scores: OptionScores;
    /** the device's own scores, also when the server answered */
    deviceScores: OptionScores;
}

export interface RoutedTextAnswer extends RouteInfo {
    text: string;
    /** the device's confidence when it answered; undefined for a server's text */
    confidence?: number;
}

/**
 * The hybrid router: the device answers first (its confidence is a by-product of answering), the policy
 * decides whether to ask the server, and a failing server leaves the device's answer marked `fallback`.
 */
export class HybridRouter {
    constructor(public settings: RouterSettings) {}

    /** Confidence and scope of an item, as calibration and routing see them. */
    async signals(item: QaItem, deviceScores: OptionScores): Promise<RoutingSignals> {
        return this.signalsOf(promptText(item), deviceScores.confidence);
    }

    async answerItem(item: QaItem, device: DeviceAnswerer): Promise<RoutedItemAnswer> {
        const deviceScores = await device.scoreItem(item);
        const signals = await this.signals(item, deviceScores);
        const routed = await this.route(signals, (server) => server.scoreItem(item));
        return { ...routed.info, scores: routed.answer ?? deviceScores, deviceScores };
    }

    async answerText(text: string, device: DeviceAnswerer): Promise<RoutedTextAnswer> {
        const local = await device.generate(text);
        const signals = await this.signalsOf(text, local.confidence);
        const routed = await this.route(signals, (server) => server.chat([{ role: "user", content: text }]));
        return routed.answer === undefined ? { ...routed.info, text: local.text, confidence: local.confidence } : { ...routed.info, text: routed.answer };
    }

    private async signalsOf(queryText: string, confidence: number): Promise<RoutingSignals> {
        const { scope } = this.settings;
        return scope === undefined ? { confidence } : { confidence, scope: await scope.similarity(queryText) };
    }

    private async route<T>(signals: RoutingSignals, ask: (server: ServerAnswerer) => Promise<T>): Promise<{ info: RouteInfo; answer?: T }> {
        const { policy, thresholds, server } = this.settings;
        const reason = server === undefined ? null : routingReason(policy, thresholds, signals);
        if (server === undefined || reason === null) return { info: { via: "device", fallback: false, reason, signals } };
        try {
            return { info: { via: "server", fallback: false, reason, signals }, answer: await ask(server) };
        } catch (error) {
            return { info: { via: "device", fallback: true, reason, signals, serverError: (error as Error).message } };
        }
    }
}
