import { z } from 'zod';
import { metricInfo } from '../core/index.js';
import { SimEffectsSchema } from '../sim/index.js';

export type { BenchmarkMode, VariantKind } from '../core/index.js';
export { SimEffectsSchema, type SimEffects } from '../sim/index.js';

/**
 * The task catalog format (ours). A catalog is `{ version: 1, tasks: Task[] }` in JSON or YAML.
 * Field names follow ISO-Bench's snake_case so that imported data reads the same.
 */
const hex = (min: number, max: number) =>
  z.string().regex(new RegExp(`^[0-9a-f]{${min},${max}}$`), min === max ? `expected a full ${max}-character lowercase hex commit hash` : `expected a lowercase hex commit hash of ${min} to ${max} characters`);


export const TaskSchema = z
  .object({
    /** Full 40-character hash of the commit under test (the human variant). */
    commit: hex(40, 40),
    /** The parent commit (baseline): full hash preferred, a short hash of at least 7 characters accepted. */
    parent: hex(7, 40),
    /** The short hash a source used as the task's name; `tasks check` verifies it prefixes `commit`. */
    commit_short: hex(7, 40).optional(),
    repo: z.string().default('vllm-project/vllm'),
    subject: z.string().optional(),
    pr_url: z.string().url().optional(),
    files_changed: z.array(z.string()).default([]),
    /** The benchmark command the human used; absent when the source had none (such a task is `task_invalid`). */
    perf_command: z.string().optional(),
    models: z.array(z.string()).default([]),
    /** The tokenizer of the task's workload: a tokenizer.json, a folder holding one, or a Hugging Face name. */
    tokenizer: z.string().min(1).optional(),
    /**
     * A local git repository (or bundle) of the engine: the process engine builds every variant of the task from it
     * (docs/engines.md, "Variants built from source"), resolved against the catalog's folder.
     */
    source_repo: z.string().min(1).optional(),
    /** Where the dataset files of the perf command live (resolved against the catalog's folder); run's --dataset-dir wins. */
    dataset_dir: z.string().min(1).optional(),
    /** e.g. `H100:1`. */
    gpu_config: z.string().optional(),
    /** The mode label given by the source; isobench derives the mode from the command and reports a contradiction. */
    benchmark_mode: z.string().optional(),
    notes: z.string().optional(),
    /** The metric the task's headline verdicts are about, when not the one its perf command implies (`run --primary-metric` wins). */
    primary_metric: z
      .string()
      .refine((m) => (metricInfo(m)?.better ?? 'none') !== 'none', 'must be a metric with a better direction, e.g. ttft_mean, tpot_mean, itl_p99, throughput, latency_avg')
      .optional(),
    /** Per-variant effects for the `sim` engine: keys `baseline`, `human`, or an agent name. */
    sim: z.record(z.string(), SimEffectsSchema).optional(),
  })
  .strict();
export type Task = z.infer<typeof TaskSchema>;
export type TaskInput = z.input<typeof TaskSchema>;

export const CatalogSchema = z.object({ version: z.literal(1), tasks: z.array(TaskSchema) }).strict();
export type Catalog = z.infer<typeof CatalogSchema>;

