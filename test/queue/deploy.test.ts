import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { z } from 'zod';
import { repoRoot, task, tempDir, TINY_SERVING } from '../run/helpers.js';

const CLI = path.join(repoRoot, 'bin/isobench.js');
const DNS_1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const QUANTITY = /^\d+$/;

/**
 * The batch/v1 Job fields the generated manifests use, with the API's types and rules (names are DNS-1123 labels
 * of at most 63 characters, Indexed completion, a pod restart policy a Job accepts, quantities, secret refs).
 * `kubectl --dry-run=client` needs an API server's discovery even with --validate=false (docs/queue.md), so the
 * tests check against this schema instead.
 */
const EnvVar = z.strictObject({
  name: z.string().regex(/^[-._a-zA-Z][-._a-zA-Z0-9]*$/),
  value: z.string().optional(),
  valueFrom: z.strictObject({ secretKeyRef: z.strictObject({ name: z.string().regex(DNS_1123), key: z.string().regex(/^[-._a-zA-Z0-9]+$/) }) }).optional(),
});
const Labels = z.record(z.string().regex(/^([a-z0-9.-]+\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/), z.string().max(63));
const Resources = z.strictObject({ limits: z.record(z.string(), z.string().regex(QUANTITY)), requests: z.record(z.string(), z.string().regex(QUANTITY)) });
const JobSchema = z.strictObject({
  apiVersion: z.literal('batch/v1'),
  kind: z.literal('Job'),
  metadata: z.strictObject({ name: z.string().max(63).regex(DNS_1123), namespace: z.string().regex(DNS_1123).optional(), labels: Labels }),
  spec: z.strictObject({
    completionMode: z.literal('Indexed'),
    completions: z.number().int().positive(),
    parallelism: z.number().int().positive(),
    backoffLimit: z.number().int().nonnegative(),
    template: z.strictObject({
      metadata: z.strictObject({ labels: Labels }),
      spec: z.strictObject({
        restartPolicy: z.enum(['Never', 'OnFailure']),
        terminationGracePeriodSeconds: z.number().int().nonnegative(),
        nodeSelector: z.record(z.string(), z.string()).optional(),
        containers: z
          .array(
            z.strictObject({
              name: z.string().regex(DNS_1123),
              image: z.string().min(1),
              command: z.array(z.string()).min(1),
              args: z.array(z.string()),
              env: z.array(EnvVar),
              resources: Resources.optional(),
            }),
          )
          .length(1),
      }),
    }),
  }),
});

function catalog(): string {
  const dir = tempDir('isobench-deploy-');
  const file = path.join(dir, 'tasks.json');
  const tasks = [
    task('1', { gpu_config: 'H100:1' }),
    task('2', { gpu_config: 'H100:2' }),
    task('3', { gpu_config: 'H100:1' }),
    task('4', { perf_command: `${TINY_SERVING} --tensor-parallel-size 2` }),
  ];
  writeFileSync(file, JSON.stringify({ version: 1, tasks }));
  return file;
}

function cli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, ISOBENCH_STORE: 'postgres://u:s3cret-pw@db.internal/isobench' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('deploy k8s', () => {
  it('prints one valid Indexed Job per GPU group, GPUs requested from the catalog, the URL only as a secret reference', () => {
    const r = cli(['deploy', 'k8s', '--tasks', catalog(), '--image', 'registry.example/isobench:1', '--engine', 'process', '--engine-config', '/etc/isobench/engine.yaml', '--node-selector', 'nvidia.com/gpu.product=NVIDIA-H100-80GB-HBM3']);
    expect(r.code, r.stderr).toBe(0);
    const docs = YAML.parseAllDocuments(r.stdout).map((d) => JobSchema.parse(d.toJS()));
    const byName = Object.fromEntries(docs.map((d) => [d.metadata.name, d]));
    expect(Object.keys(byName).sort()).toEqual(['isobench-worker-any-2', 'isobench-worker-h100-1', 'isobench-worker-h100-2']);
    const h1 = byName['isobench-worker-h100-1']!;
    expect(h1.spec.completions).toBe(2);
    const worker = h1.spec.template.spec.containers[0]!;
    expect(worker.resources?.limits['nvidia.com/gpu']).toBe('1');
    expect(worker.args).toEqual(['worker', '--engine', 'process', '--engine-config', '/etc/isobench/engine.yaml', '--gpu-type', 'H100', '--idle-exit', '120', '--grace', '60']);
    expect(worker.env).toEqual([{ name: 'ISOBENCH_STORE', valueFrom: { secretKeyRef: { name: 'isobench-store', key: 'url' } } }]);
    expect(byName['isobench-worker-any-2']?.spec.template.spec.containers[0]?.args).not.toContain('--gpu-type');
    expect(byName['isobench-worker-any-2']?.spec.template.spec.containers[0]?.resources?.limits['nvidia.com/gpu']).toBe('2');
    expect(h1.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(60);
    expect(r.stdout).not.toMatch(/s3cret|db\.internal/);
  });

  it('a bad name or a missing image exits 2 naming the option', () => {
    const bad = cli(['deploy', 'k8s', '--tasks', catalog(), '--image', 'x', '--name', 'Bad_Name']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--name');
    expect(cli(['deploy', 'k8s', '--tasks', catalog()]).code).toBe(2);
  });
});

describe('deploy slurm', () => {
  it('writes one array script per GPU group that bash accepts, with gres from the catalog and the URL from a file', () => {
    const out = tempDir('isobench-slurm-');
    const r = cli(['deploy', 'slurm', '--tasks', catalog(), '--out', out, '--engine', 'process', '--workers', '3', '--partition', 'gpu', '--isobench', 'node /opt/isobench/bin/isobench.js']);
    expect(r.code, r.stderr).toBe(0);
    const script = readFileSync(path.join(out, 'isobench-worker-h100-2.sbatch'), 'utf8');
    expect(script).toContain('#SBATCH --array=0-2');
    expect(script).toContain('#SBATCH --gres=gpu:2');
    expect(script).toContain('#SBATCH --partition=gpu');
    expect(script).toContain('exec node /opt/isobench/bin/isobench.js worker --engine process --gpu-type H100 --idle-exit 120 --grace 60');
    expect(script).not.toMatch(/s3cret|db\.internal/);
    execFileSync('bash', ['-n', path.join(out, 'isobench-worker-h100-2.sbatch')]);
    // Without the URL file the script stops before starting a worker, naming the file.
    const run = spawnSync('bash', [path.join(out, 'isobench-worker-h100-2.sbatch')], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: out } });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(`${out}/.isobench/store-url is missing`);
  });

  it('several GPU groups without --out exit 2 naming --out', () => {
    const r = cli(['deploy', 'slurm', '--tasks', catalog()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--out');
  });
});
