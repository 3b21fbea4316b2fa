import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { IsobenchError } from '../core/index.js';
import { defaultImages } from '../vllm/index.js';
import { DEFAULT_LOG_LIMIT_BYTES } from './log-buffer.js';
import { BUILD_TEMPLATE_VARS } from './build-recipes.js';
import { PRESET_NAMES, PRESETS, type PresetName } from './presets.js';
import { defaultRegistryDir } from './registry.js';
import { defaultCacheRoot } from './source-build.js';
import { unknownVariables } from './template.js';

/** The isobench checkout this module belongs to (stable, unlike the working directory). */
const ISOBENCH_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Variables every template may use; `{server_args}` / `{args}` expand to several argv items. */
export const SERVER_TEMPLATE_VARS = ['venv', 'model', 'port', 'server_args', 'commit', 'parent', 'parent12', 'kind', 'agent', 'variant', 'source', 'repo'] as const;
export const EXEC_TEMPLATE_VARS = ['venv', 'script', 'args', 'commit', 'parent', 'parent12', 'kind', 'agent', 'variant', 'source', 'repo'] as const;
/** Variables of path templates (venvs, source dirs, images). */
export const PATH_TEMPLATE_VARS = ['commit', 'parent', 'parent12', 'kind', 'agent', 'variant', 'repo'] as const;

function template(known: readonly string[], what: string) {
  return z.string().min(1).superRefine((value, ctx) => {
    const bad = unknownVariables(value, known);
    if (bad.length > 0) ctx.addIssue({ code: 'custom', message: `${what} uses unknown variable(s) ${bad.map((b) => `{${b}}`).join(', ')}; known: ${known.map((k) => `{${k}}`).join(' ')}` });
  });
}

/**
 * Where a per-variant value (a venv, a source dir, an image) comes from: a template, or a map tried in the order
 * agent name, commit, variant kind, then `default`.
 */
function perVariant(what: string) {
  const t = template(PATH_TEMPLATE_VARS, what);
  return z.union([
    t,
    z
      .object({
        default: t.optional(),
        baseline: t.optional(),
        human: t.optional(),
        agent: t.optional(),
        commits: z.record(z.string(), t).optional(),
        agents: z.record(z.string(), t).optional(),
      })
      .strict(),
  ]);
}
export type PerVariant = z.output<ReturnType<typeof perVariant>>;

const common = {
  /** Labels everything this engine starts (containers, processes) so cleanup finds it. */
  runId: z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, 'runId: letters, digits, `_`, `.`, `-` only (1-128 characters)'),
  /** SIGTERM, then SIGKILL after this many ms. */
  stopGraceMs: z.number().int().nonnegative().default(10_000),
  /** Bound of each captured log (the tail is kept). */
  logLimitBytes: z.number().int().positive().default(DEFAULT_LOG_LIMIT_BYTES),
};

export const SimEngineConfigSchema = z
  .object({
    kind: z.literal('sim'),
    ...common,
    /** The base profile (engineer 2's SimProfile keys); each variant's task.sim effects are applied on top. */
    profile: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

/** Which server the engine starts: its command, readiness, tokenizer API and server-flag translation (presets.ts). */
const preset = z.enum(PRESET_NAMES, { error: `preset: one of ${PRESET_NAMES.join(', ')}` }).default('vllm');

export const ProcessEngineConfigSchema = z
  .object({
    kind: z.literal('process'),
    ...common,
    preset,
    /** Default: the preset's command (vllm: `{venv}/bin/vllm serve {model} --port {port} {server_args}`). */
    serverTemplate: template(SERVER_TEMPLATE_VARS, 'serverTemplate').optional(),
    execTemplate: template(EXEC_TEMPLATE_VARS, 'execTemplate').default('{venv}/bin/python {script} {args}'),
    venv: perVariant('venv').default('/opt/venvs/{commit}'),
    /**
     * The engine's source tree per variant; agents need it: the patch is applied to a copy of the parent's tree.
     * llama.cpp's default: the build cache's tree of the commit (`<cache>/llama.cpp/{commit}`, src/engine/source-build.ts).
     */
    sourceDir: perVariant('sourceDir').optional(),
    /**
     * Build every variant from the engine's repository at its commit (agents: the parent with the patch applied by
     * `git apply`) into the build cache, instead of finding a ready venv or tree; see docs/engines.md, "Builds".
     */
    build: z
      .object({
        /** The engine's git repository or bundle. */
        repository: z.string().min(1),
        /** Command templates replacing the preset's build (`{tree}`, `{jobs}`), run in the tree. */
        steps: z.array(template(BUILD_TEMPLATE_VARS, 'build.steps')).min(1).optional(),
        env: z.record(z.string(), z.string()).default({}),
        /** Parallel compile jobs. */
        jobs: z.number().int().positive().default(2),
        /** Niceness of the build (0: normal priority). */
        nice: z.number().int().min(0).max(19).default(10),
        /** Default `$ISOBENCH_CACHE_DIR`, else ~/.cache/isobench. */
        cacheDir: z.string().optional(),
      })
      .strict()
      .optional(),
    /** Extra environment per server/exec (values are templates of the path variables). */
    env: z.record(z.string(), z.string()).default({}),
    /** Where agent trees are copied and patched. */
    workDir: z.string().default(path.join(tmpdir(), 'isobench-engine', 'work')),
    registryDir: z.string().default(defaultRegistryDir()),
    /** The value of `{repo}`: default the isobench checkout, for `node {repo}/bin/isobench.js sim serve`. */
    repo: z.string().default(ISOBENCH_ROOT),
  })
  .strict();

export const DockerEngineConfigSchema = z
  .object({
    kind: z.literal('docker'),
    ...common,
    /** `unix:///path/docker.sock` or `tcp://host:port`; default: $DOCKER_HOST, else /var/run/docker.sock. */
    dockerHost: z.string().optional(),
    images: z
      .object({
        baseline: template(PATH_TEMPLATE_VARS, 'images.baseline').default(defaultImages.baseline),
        human: template(PATH_TEMPLATE_VARS, 'images.human').default(defaultImages.human),
        /** Agents run the baseline image with the patch applied at start unless this is set. */
        agent: template(PATH_TEMPLATE_VARS, 'images.agent').optional(),
      })
      .strict()
      .default({ ...defaultImages }),
    preset,
    /** Default: the preset's command inside the container. */
    serverTemplate: template(SERVER_TEMPLATE_VARS, 'serverTemplate').optional(),
    execTemplate: template(EXEC_TEMPLATE_VARS, 'execTemplate').default('python3 {script} {args}'),
    /** The port the server listens on inside the container; published on 127.0.0.1 at the requested or a free port. */
    containerPort: z.number().int().min(1).max(65_535).default(8000),
    /** `task`: from the task's gpu_config (`H100:2` → 2 GPUs, none given → all); `none`; `all`; or a count. */
    gpus: z.union([z.enum(['task', 'none', 'all']), z.number().int().positive()]).default('task'),
    shmSize: z
      .string()
      .regex(/^\d+[bkmg]?$/i, 'shmSize: a size such as 16g, 512m')
      .default('16g'),
    /** Host directory mounted as the container's Hugging Face cache; null mounts nothing. */
    hfCache: z.string().nullable().default(path.join(homedir(), '.cache', 'huggingface')),
    /** Where the engine package is installed in the image (site-packages); found with python3 when absent. */
    packageRoot: z.string().optional(),
    /** Pull a missing image instead of failing with image_missing (needs a reachable registry). */
    pull: z.boolean().default(false),
    /** Environment variables copied from this process into containers when set (secrets are never logged). */
    passEnv: z.array(z.string()).default(['HF_TOKEN', 'HUGGING_FACE_HUB_TOKEN']),
    env: z.record(z.string(), z.string()).default({}),
    /** `bridge` publishes the port on 127.0.0.1; `host` shares the host's network (no publishing). */
    network: z.enum(['bridge', 'host']).default('bridge'),
    /** Run Docker's init (tini) as PID 1, so that SIGTERM reaches the server and forked workers are reaped. */
    init: z.boolean().default(true),
    /** Host directory for patch files mounted into agent containers. */
    workDir: z.string().default(path.join(tmpdir(), 'isobench-engine', 'patches')),
    /**
     * Build agent variants as images: FROM the baseline image, the patch applied to the engine's source tree inside
     * it (`sourceDir`), then the build run there (`docker build`); see docs/engines.md, "Builds".
     */
    build: z
      .object({
        /** The engine's source tree inside the baseline image (the checkout the image was built from). */
        sourceDir: z.string().regex(/^\//, 'build.sourceDir: an absolute path inside the image, e.g. /workspace/vllm'),
        /** Command templates replacing the preset's build (`{tree}` = sourceDir, `{jobs}`), each one RUN step. */
        steps: z.array(template(BUILD_TEMPLATE_VARS, 'build.steps')).min(1).optional(),
        env: z.record(z.string(), z.string()).default({}),
        /** Parallel compile jobs. */
        jobs: z.number().int().positive().default(2),
        /** Where build logs are kept (`<cacheDir>/docker/<key>.log`); default `$ISOBENCH_CACHE_DIR`, else ~/.cache/isobench. */
        cacheDir: z.string().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export const EngineConfigSchema = z.discriminatedUnion('kind', [SimEngineConfigSchema, ProcessEngineConfigSchema, DockerEngineConfigSchema]);

type WithTemplate<T> = Omit<T, 'serverTemplate'> & { serverTemplate: string; preset: PresetName };
export type EngineConfig = z.input<typeof EngineConfigSchema>;
export type SimEngineConfig = z.output<typeof SimEngineConfigSchema>;
export type ProcessEngineConfig = WithTemplate<z.output<typeof ProcessEngineConfigSchema>>;
export type DockerEngineConfig = WithTemplate<z.output<typeof DockerEngineConfigSchema>>;
export type ResolvedEngineConfig = SimEngineConfig | ProcessEngineConfig | DockerEngineConfig;

/** The preset's defaults where the config leaves them open (server command; llama.cpp's tree in the build cache). */
function withPresetDefaults(c: z.output<typeof EngineConfigSchema>): ResolvedEngineConfig {
  if (c.kind === 'sim') return c;
  const p = PRESETS[c.preset];
  if (c.kind === 'docker') return { ...c, serverTemplate: c.serverTemplate ?? p.dockerServerTemplate };
  const sourceDir = c.sourceDir ?? (c.preset === 'llama.cpp' ? path.join(defaultCacheRoot(), 'llama.cpp', '{commit}') : undefined);
  return { ...c, serverTemplate: c.serverTemplate ?? p.processServerTemplate, ...(sourceDir === undefined ? {} : { sourceDir }) };
}

/** Validates an engine config; every problem is named by its key in one E_USAGE error. */
export function parseEngineConfig(input: unknown): ResolvedEngineConfig {
  const result = EngineConfigSchema.safeParse(input);
  if (result.success) return withPresetDefaults(result.data);
  const lines = result.error.issues.map((issue) => {
    const key = issue.path.map(String).join('.');
    return `${key || 'engine config'}: ${issue.message}`;
  });
  throw new IsobenchError('E_USAGE', `invalid engine config:\n${lines.join('\n')}`, { hint: 'see docs/engines.md for every engine option' });
}
