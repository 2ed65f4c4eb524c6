/** When a query goes to the server instead of being answered on the device. */
export const ROUTING_POLICIES = ["device", "server", "confidence", "scope", "confidence+scope"] as const;
export type RoutingPolicy = (typeof ROUTING_POLICIES)[number];

/** What the device knows about a query before deciding. */
export interface RoutingSignals {
    /** probability of the device's chosen option (or, for free text, its geometric-mean token probability) */
    confidence: number;
    /** cosine similarity of the query to the user's examples; undefined when no examples are loaded */
    scope?: number;
}

export interface RoutingThresholds {
    /** θ: route when confidence < θ */
    confidence?: number;
    /** σ: route when scope similarity < σ */
    scope?: number;
}

/** Why a query is routed, or null to answer on the device. */
export function routingReason(policy: RoutingPolicy, thresholds: RoutingThresholds, signals: RoutingSignals): string | null {
    if (policy === "device") return null;
    if (policy === "server") return "policy server";
    const reasons: string[] = [];
    if (policy === "confidence" || policy === "confidence+scope") {
        const theta = required(thresholds.confidence, "confidence θ", policy);
        if (signals.confidence < theta) reasons.push(`confidence ${signals.confidence.toFixed(2)} < θ ${theta.toFixed(2)}`);
    }
    if (policy === "scope" || policy === "confidence+scope") {
        const sigma = required(thresholds.scope, "scope σ", policy);
        if (signals.scope === undefined) throw new RangeError(`policy ${policy} needs the user's examples to measure scope`);
        if (signals.scope < sigma) reasons.push(`scope ${signals.scope.toFixed(2)} < σ ${sigma.toFixed(2)}`);
    }
    return reasons.length === 0 ? null : reasons.join(", ");
}

export function parseRoutingPolicy(text: string): RoutingPolicy {
    const policy = ROUTING_POLICIES.find((p) => p === text);
    if (policy === undefined) throw new RangeError(`unknown policy "${text}"; expected one of ${ROUTING_POLICIES.join(", ")}`);
    return policy;
}

function required(value: number | undefined, name: string, policy: RoutingPolicy): number {
    if (value === undefined) throw new RangeError(`policy ${policy} needs a ${name}: set it or calibrate it from a target server share`);
    return value;
}
