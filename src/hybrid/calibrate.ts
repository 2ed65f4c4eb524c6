import type { RoutingPolicy, RoutingSignals, RoutingThresholds } from "./policy.js";
import { routingReason } from "./policy.js";

/**
 * The threshold t for which a share `serverShare` (0…1) of `values` lies strictly below t: the
 * serverShare-quantile of their distribution. Ties can make the realised share smaller.
 */
export function thresholdForShare(values: readonly number[], serverShare: number): number {
    if (!(serverShare >= 0 && serverShare <= 1)) throw new RangeError(`the server share must be in [0, 1], found ${serverShare}`);
    if (values.length === 0) throw new RangeError("cannot calibrate a threshold from no examples");
    const sorted = [...values].sort((a, b) => a - b);
    const below = Math.round(serverShare * sorted.length);
    return below >= sorted.length ? Infinity : sorted[below]!;
}

/**
 * Thresholds for `policy` such that about `serverShare` of the calibration queries are routed. With two
 * signals both thresholds sit at the same quantile level q, and q is searched so that "either triggers"
 * routes the target share.
 */
export function calibrateThresholds(policy: RoutingPolicy, signals: readonly RoutingSignals[], serverShare: number): RoutingThresholds {
    const confidences = signals.map((s) => s.confidence);
    const scopes = () => signals.map((s) => {
        if (s.scope === undefined) throw new RangeError(`policy ${policy} needs scope similarities to calibrate`);
        return s.scope;
    });
    switch (policy) {
        case "device":
        case "server":
            return {};
        case "confidence":
            return { confidence: thresholdForShare(confidences, serverShare) };
        case "scope":
            return { scope: thresholdForShare(scopes(), serverShare) };
        case "confidence+scope": {
            const scopeValues = scopes();
            const at = (q: number): RoutingThresholds => ({ confidence: thresholdForShare(confidences, q), scope: thresholdForShare(scopeValues, q) });
            let low = 0;
            let high = serverShare;
            for (let step = 0; step < 30; step++) {
                const mid = (low + high) / 2;
                if (routedShare(policy, at(mid), signals) > serverShare) high = mid;
                else low = mid;
            }
            return at(low);
        }
    }
}

/** The share of queries a policy with these thresholds routes to the server. */
export function routedShare(policy: RoutingPolicy, thresholds: RoutingThresholds, signals: readonly RoutingSignals[]): number {
    if (signals.length === 0) return 0;
    return signals.filter((s) => routingReason(policy, thresholds, s) !== null).length / signals.length;
}
