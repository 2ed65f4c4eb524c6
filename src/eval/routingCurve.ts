import { calibrateThresholds } from "../hybrid/calibrate.js";
import { routingReason, type RoutingPolicy, type RoutingSignals } from "../hybrid/policy.js";

/** One query of a routing evaluation: what the router sees, and whether each side answers it right. */
export interface RoutedQuery {
    signals: RoutingSignals;
    deviceCorrect: boolean;
    serverCorrect: boolean;
}

/** A point of the accuracy/server-share curve: share of queries sent to the server (0…1), accuracy (0…1). */
export interface CurvePoint {
    serverShare: number;
    accuracy: number;
}

/** The fraction of the device→server gap CPT closes: RouteLLM's CPT(50%). */
export const CPT_GAP_FRACTION = 0.5;

/** Operating points (server shares) the summary reports accuracy at. */
export const REPORTED_SHARES = [0.1, 0.2, 0.3] as const;

/**
 * Accuracy against the share of server calls as the policy's threshold is swept: for every target share
 * i/n the router's own calibration picks the thresholds and the router's own rule decides each query, so
 * the curve is exactly what the deployed router would do. Points are ordered by the realised share (ties in
 * the signals can make it smaller than the target; a repeated share keeps its first point). The ends are
 * always device-only (share 0) and server-only (share 1).
 */
export function routingCurve(policy: RoutingPolicy, queries: readonly RoutedQuery[]): CurvePoint[] {
    if (queries.length === 0) throw new RangeError("a routing curve needs at least one query");
    const signals = queries.map((q) => q.signals);
    const byShare = new Map<number, number>();
    for (let i = 0; i <= queries.length; i++) {
        const thresholds = calibrateThresholds(policy, signals, i / queries.length);
        const routed = queries.map((q) => routingReason(policy, thresholds, q.signals) !== null);
        const point = hybridPoint(queries, routed);
        if (!byShare.has(point.serverShare)) byShare.set(point.serverShare, point.accuracy);
    }
    byShare.set(0, hybridPoint(queries, queries.map(() => false)).accuracy);
    byShare.set(1, hybridPoint(queries, queries.map(() => true)).accuracy);
    return [...byShare].map(([serverShare, accuracy]) => ({ serverShare, accuracy })).sort((a, b) => a.serverShare - b.serverShare);
}

function hybridPoint(queries: readonly RoutedQuery[], routed: readonly boolean[]): CurvePoint {
    const correct = queries.filter((q, i) => (routed[i] ? q.serverCorrect : q.deviceCorrect)).length;
    return { serverShare: routed.filter(Boolean).length / queries.length, accuracy: correct / queries.length };
}

/** Area under the curve by the trapezoid rule over share ∈ [0, 1]: the mean accuracy over all operating points. */
export function areaUnderCurve(curve: readonly CurvePoint[]): number {
    let area = 0;
    for (let i = 1; i < curve.length; i++) {
        const [a, b] = [curve[i - 1]!, curve[i]!];
        area += ((b.serverShare - a.serverShare) * (a.accuracy + b.accuracy)) / 2;
    }
    return area;
}

/** Accuracy at a server share, linear between the curve's points (the same reading the trapezoid AUC makes). */
export function accuracyAt(curve: readonly CurvePoint[], serverShare: number): number {
    const after = curve.findIndex((p) => p.serverShare >= serverShare);
    if (after === -1) return curve.at(-1)!.accuracy;
    const b = curve[after]!;
    if (after === 0 || b.serverShare === serverShare) return b.accuracy;
    const a = curve[after - 1]!;
    return a.accuracy + ((b.accuracy - a.accuracy) * (serverShare - a.serverShare)) / (b.serverShare - a.serverShare);
}

/** APGR = (AUC − device)/(server − device): 0 is no better than the device, 1 as good as always asking the server. Null without a gap. */
export function averagePerformanceGapRecovered(auc: number, deviceAccuracy: number, serverAccuracy: number): number | null {
    const gap = serverAccuracy - deviceAccuracy;
    return gap === 0 ? null : (auc - deviceAccuracy) / gap;
}

/**
 * CPT(fraction): the smallest server share among the curve's points whose accuracy reaches
 * device + fraction·(server − device). Read off the points, not interpolated, so it is a share the router
 * can actually be run at. When the device is as good as the server or better, that is share 0.
 */
export function callsToCloseGap(curve: readonly CurvePoint[], fraction = CPT_GAP_FRACTION): number {
    const device = curve[0]!.accuracy;
    const server = curve.at(-1)!.accuracy;
    const target = device + fraction * (server - device);
    // a tolerance of 1e-12 so a point exactly on the target is not lost to rounding (e.g. a mean of curves)
    return curve.find((p) => p.accuracy >= target - 1e-12)!.serverShare;
}

/** The mean of several curves at every share any of them has a point at, each read linearly. */
export function meanCurve(curves: readonly (readonly CurvePoint[])[]): CurvePoint[] {
    if (curves.length === 0) throw new RangeError("no curves to average");
    const shares = [...new Set(curves.flatMap((curve) => curve.map((p) => p.serverShare)))].sort((a, b) => a - b);
    return shares.map((serverShare) => ({
        serverShare,
        accuracy: curves.reduce((sum, curve) => sum + accuracyAt(curve, serverShare), 0) / curves.length
    }));
}

/** What the report shows for one policy: the curve and its summary numbers. */
export interface PolicyRouting {
    curve: CurvePoint[];
    auc: number;
    /** null when device and server are equally accurate */
    apgr: number | null;
    /** server share needed to close CPT_GAP_FRACTION of the gap */
    cpt50: number;
    /** accuracy at each of REPORTED_SHARES */
    atShares: CurvePoint[];
}

export function summarizeCurve(curve: CurvePoint[]): PolicyRouting {
    const auc = areaUnderCurve(curve);
    return {
        curve,
        auc,
        apgr: averagePerformanceGapRecovered(auc, curve[0]!.accuracy, curve.at(-1)!.accuracy),
        cpt50: callsToCloseGap(curve),
        atShares: REPORTED_SHARES.map((serverShare) => ({ serverShare, accuracy: accuracyAt(curve, serverShare) }))
    };
}
