/**
 * PEFT's `adapter_config.json` for LoRA: what it says about each module's rank and scale, checked so that
 * anything a GGUF LoRA adapter cannot carry is refused by name rather than dropped.
 *
 * PEFT's semantics: module m gets rank r_m = rank_pattern[key] (else r) and alpha α_m = alpha_pattern[key]
 * (else lora_alpha), where key is the first pattern key k, in file order, such that m's name matches the
 * regular expression `(.*\.)?(k)$`; its update is scale_m · B·A with scale_m = α_m / r_m, or α_m / √r_m
 * with use_rslora. fan_in_fan_out only says the base weight is stored [in, out] (GPT-2's Conv1D); the
 * factors keep their [r, in] / [out, r] shapes, and for a llama's nn.Linear projections PEFT itself turns
 * it off, so it changes nothing here.
 */
import { readFileSync } from "node:fs";
import { CrayonError } from "../errors.js";
import { fileProblemMessage } from "../gguf/errors.js";
import { HF_PROJECTION_NAMES } from "./hfLayout.js";

export interface PeftLoraConfig {
    /** the default rank */
    r: number;
    /** the default alpha */
    loraAlpha: number;
    useRslora: boolean;
    /** [pattern, rank] in file order: the first match wins */
    rankPattern: [string, number][];
    /** [pattern, alpha] in file order */
    alphaPattern: [string, number][];
    /** the base model's Hugging Face id or path, when named */
    baseModel?: string;
}

/** What PEFT calls "all linear layers but the output head". */
const ALL_LINEAR = "all-linear";
const EMBEDDING_MODULES = ["embed_tokens", "wte", "word_embeddings"];
const OUTPUT_MODULES = ["lm_head"];

export function readPeftConfig(path: string): PeftLoraConfig {
    const fail = (problem: string, hint?: string): never => {
        throw new CrayonError(fileProblemMessage(path, problem, hint));
    };
    let text: string;
    try {
        text = readFileSync(path, "utf8");
    } catch (error) {
        return fail(`cannot read the file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, "a PEFT adapter folder holds adapter_config.json and adapter_model.safetensors");
    }
    let json: unknown;
    try {
        json = JSON.parse(text);
    } catch (error) {
        return fail(`is not valid JSON (${(error as Error).message})`);
    }
    if (typeof json !== "object" || json === null || Array.isArray(json)) return fail("is not a JSON object");
    return parsePeftConfig(json as Record<string, unknown>, fail);
}

function parsePeftConfig(config: Record<string, unknown>, fail: (problem: string, hint?: string) => never): PeftLoraConfig {
    if (config.peft_type !== "LORA") fail(`peft_type is ${JSON.stringify(config.peft_type)}; only LoRA adapters ("LORA") can be imported`);
    refuseUnrepresentable(config, fail);
    const r = config.r;
    if (!Number.isSafeInteger(r) || (r as number) < 1) fail(`r is ${JSON.stringify(r)}; the rank must be a positive integer`);
    const loraAlpha = config.lora_alpha ?? 8; // PEFT's default
    if (typeof loraAlpha !== "number" || !Number.isFinite(loraAlpha)) fail(`lora_alpha is ${JSON.stringify(loraAlpha)}; it must be a number`);
    for (const key of ["use_rslora", "fan_in_fan_out"]) {
        if (config[key] !== undefined && typeof config[key] !== "boolean") fail(`${key} is ${JSON.stringify(config[key])}; it must be true or false`);
    }
    checkTargetModules(config.target_modules, fail);
    const baseModel = config.base_model_name_or_path;
    return {
        r: r as number,
        loraAlpha: loraAlpha as number,
        useRslora: config.use_rslora === true,
        rankPattern: patternEntries(config.rank_pattern, "rank_pattern", (v) => Number.isSafeInteger(v) && (v as number) >= 1, "a positive integer rank", fail),
        alphaPattern: patternEntries(config.alpha_pattern, "alpha_pattern", (v) => typeof v === "number" && Number.isFinite(v), "a number", fail),
        ...(typeof baseModel === "string" && baseModel !== "" ? { baseModel } : {})
    };
}

/** Parts of a PEFT LoRA that a GGUF LoRA adapter (factors of the block projections only) cannot hold. */
function refuseUnrepresentable(config: Record<string, unknown>, fail: (problem: string, hint?: string) => never): void {
    const present = (key: string): boolean => {
        const value = config[key];
        return value !== undefined && value !== null && value !== false && !(Array.isArray(value) && value.length === 0);
    };
    if (present("use_dora")) fail("is a DoRA adapter (use_dora: true): its magnitude vectors rescale whole weights, which a LoRA adapter cannot express", "merge it into the model, or train a plain LoRA");
    if (present("modules_to_save")) fail(`saves whole modules besides the LoRA factors (modules_to_save: ${JSON.stringify(config.modules_to_save)}), which a LoRA adapter cannot carry`, "train without modules_to_save");
    if (present("lora_bias")) fail("has LoRA bias terms (lora_bias: true), which llama.cpp's LoRA adapters do not have");
    if (present("trainable_token_indices")) fail("trains token embeddings (trainable_token_indices); embedding LoRA is not supported");
    if (present("layer_replication")) fail("replicates layers (layer_replication), which changes the base model's structure");
}

function checkTargetModules(targets: unknown, fail: (problem: string, hint?: string) => never): void {
    if (targets === undefined || targets === null || targets === ALL_LINEAR) return;
    if (typeof targets === "string") return; // a regular expression over module names: the saved factors say what it matched
    if (!Array.isArray(targets) || targets.some((t) => typeof t !== "string")) fail(`target_modules is ${JSON.stringify(targets)}; expected a list of module names`);
    for (const target of targets as string[]) {
        const leaf = target.split(".").at(-1)!;
        if (HF_PROJECTION_NAMES.includes(leaf)) continue;
        if (EMBEDDING_MODULES.includes(leaf)) fail(`targets ${target}: embedding LoRA is not supported`, `adapt only ${HF_PROJECTION_NAMES.join(", ")}`);
        if (OUTPUT_MODULES.includes(leaf)) fail(`targets ${target}: a pool's adapters adapt only the block projections ${HF_PROJECTION_NAMES.join(", ")}`);
        fail(`targets ${target}, a module a llama base model does not have (it has ${HF_PROJECTION_NAMES.join(", ")})`, "was the adapter trained for another architecture?");
    }
}

function patternEntries(value: unknown, key: string, valid: (v: unknown) => boolean, expected: string,
    fail: (problem: string) => never): [string, number][] {
    if (value === undefined || value === null) return [];
    if (typeof value !== "object" || Array.isArray(value)) fail(`${key} is ${JSON.stringify(value)}; expected an object of pattern → value`);
    return Object.entries(value as Record<string, unknown>).map(([pattern, v]) => {
        if (!valid(v)) fail(`${key}["${pattern}"] is ${JSON.stringify(v)}; expected ${expected}`);
        try {
            new RegExp(pattern);
        } catch {
            fail(`${key} key "${pattern}" is not a valid regular expression`);
        }
        return [pattern, v as number];
    });
}

/** The value of the first pattern (in order) whose regular expression matches the module name's tail. */
function patternValue(patterns: readonly [string, number][], moduleName: string): number | undefined {
    return patterns.find(([pattern]) => new RegExp(`^(?:.*\\.)?(?:${pattern})$`).test(moduleName))?.[1];
}

/** PEFT's rank of the named module. */
export function moduleRank(config: PeftLoraConfig, moduleName: string): number {
    return patternValue(config.rankPattern, moduleName) ?? config.r;
}

/** PEFT's scale of the named module's update B·A: α/r, or α/√r with rsLoRA. */
export function moduleScale(config: PeftLoraConfig, moduleName: string): number {
    const rank = moduleRank(config, moduleName);
    const alpha = patternValue(config.alphaPattern, moduleName) ?? config.loraAlpha;
    return config.useRslora ? alpha / Math.sqrt(rank) : alpha / rank;
}

export interface PeftConfigToWrite {
    r: number;
    loraAlpha: number;
    /** module names without the layer, e.g. q_proj */
    targetModules: string[];
    baseModel: string;
    /** full module names → rank, for modules whose rank is not r */
    rankPattern: Record<string, number>;
    alphaPattern: Record<string, number>;
}

/**
 * The adapter_config.json of an exported adapter: the fields PEFT's LoraConfig has had since rsLoRA and
 * DoRA (older and newer PEFT read it), and nothing else, since some PEFT versions refuse unknown keys.
 */
export function peftConfigJson(config: PeftConfigToWrite): string {
    return `${JSON.stringify({
        peft_type: "LORA",
        task_type: "CAUSAL_LM",
        base_model_name_or_path: config.baseModel,
        r: config.r,
        lora_alpha: config.loraAlpha,
        target_modules: config.targetModules,
        rank_pattern: config.rankPattern,
        alpha_pattern: config.alphaPattern,
        lora_dropout: 0,
        bias: "none",
        fan_in_fan_out: false,
        use_rslora: false,
        use_dora: false,
        modules_to_save: null,
        init_lora_weights: true,
        inference_mode: true
    }, null, 2)}\n`;
}
