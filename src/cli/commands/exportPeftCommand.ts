import type { Command } from "commander";
import { readGguf } from "../../gguf/reader.js";
import { exportPeftAdapter } from "../../interop/exportPeft.js";
import { PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE } from "../../interop/hfLayout.js";
import { DEFAULT_DEVICE_MODEL } from "../../defaults.js";

interface ExportPeftCommandOptions {
    model: string;
    out: string;
    baseModelName?: string;
}

/** `crayon export-peft`: a GGUF LoRA adapter (a pool adapter, a blend) as a PEFT folder, for PEFT or vLLM. */
export function registerExportPeftCommand(program: Command): void {
    program
        .command("export-peft")
        .description(`write a GGUF LoRA adapter as a PEFT folder (${PEFT_CONFIG_FILE} + ${PEFT_WEIGHTS_FILE}) for the base model in Hugging Face layout, as PEFT and vLLM load it`)
        .argument("<adapter>", "the GGUF LoRA adapter")
        .requiredOption("--out <dir>", "the PEFT folder to write")
        .option("--model <gguf>", "the adapter's base model", DEFAULT_DEVICE_MODEL)
        .option("--base-model-name <name>", "base_model_name_or_path to record: the Hugging Face id or path of the base (default the GGUF's general.name)")
        .action(async (adapter: string, options: ExportPeftCommandOptions) => {
            const exported = await exportPeftAdapter({
                adapterPath: adapter,
                base: await readGguf(options.model),
                outDir: options.out,
                ...(options.baseModelName === undefined ? {} : { baseModelName: options.baseModelName })
            });
            const patterns = exported.otherRanks === 0 ? "" : `, ${exported.otherRanks} modules of other ranks in rank_pattern`;
            process.stdout.write(`wrote ${exported.outDir} (r ${exported.r}, lora_alpha ${exported.loraAlpha}, ${exported.targetModules.join(",")}${patterns}; base ${exported.baseModelName})\n`);
        });
}
