import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { createRepo, repoExists, uploadFiles } from '@huggingface/hub';
import { IsobenchError, errorMessage, redactSecrets } from '../core/index.js';

export interface PushOptions {
  repo: string;
  dryRun?: boolean;
  /** The environment the token is read from (HF_TOKEN); tests pass their own. */
  env?: Readonly<Record<string, string | undefined>>;
  private?: boolean;
  signal?: AbortSignal;
}

export interface PushFile {
  path: string;
  bytes: number;
}

export type PushResult = { status: 'dry_run'; repo: string; files: PushFile[] } | { status: 'uploaded'; repo: string; files: PushFile[]; created: boolean };

const REPO_NAME = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;

/** Every file under a dataset directory (relative paths, `/`-separated), hidden files left out. */
export async function datasetFiles(dir: string): Promise<PushFile[]> {
  const out: PushFile[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const e of await readdir(path.join(dir, rel), { withFileTypes: true })) {
      if (e.name.startsWith('.')) continue;
      const child = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) await walk(child);
      else if (e.isFile()) out.push({ path: child, bytes: (await stat(path.join(dir, child))).size });
    }
  };
  await walk('');
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

/** Uploads a dataset directory to a Hub dataset repo (creating it if needed); the token comes from HF_TOKEN. */
export async function pushDataset(dir: string, opts: PushOptions): Promise<PushResult> {
  if (!REPO_NAME.test(opts.repo)) throw new IsobenchError('E_USAGE', `--repo: "${opts.repo}" is not <org>/<name>`, { hint: 'e.g. --repo my-org/isobench-vllm' });
  const files = await datasetFiles(dir).catch((err: unknown) => {
    throw new IsobenchError('E_INPUT', `dataset push: cannot read ${dir}: ${errorMessage(err)}`);
  });
  if (!files.some((f) => f.path === 'README.md') || !files.some((f) => f.path.endsWith('.parquet'))) {
    throw new IsobenchError('E_INPUT', `dataset push: ${dir} has no README.md and Parquet file`, { hint: 'run `isobench dataset build --out <dir>` first' });
  }
  if (opts.dryRun) return { status: 'dry_run', repo: opts.repo, files };
  const env = opts.env ?? process.env;
  const token = env.HF_TOKEN ?? env.HUGGING_FACE_HUB_TOKEN;
  if (!token) throw new IsobenchError('E_USAGE', 'dataset push: no Hugging Face token: set HF_TOKEN in the environment', { hint: 'or use --dry-run to see what would be uploaded' });
  const repo = { type: 'dataset' as const, name: opts.repo };
  try {
    const exists = await repoExists({ repo, accessToken: token });
    if (!exists) await createRepo({ repo, accessToken: token, ...(opts.private ? { visibility: 'private' as const } : {}) });
    const contents = await Promise.all(files.map(async (f) => ({ path: f.path, content: new Blob([await readFile(path.join(dir, f.path))]) })));
    await uploadFiles({ repo, accessToken: token, files: contents, commitTitle: 'isobench dataset build', ...(opts.signal ? { abortSignal: opts.signal } : {}) });
    return { status: 'uploaded', repo: opts.repo, files, created: !exists };
  } catch (err) {
    // The client's messages can echo request details: never let the token through.
    throw new IsobenchError('E_CONNECT', `dataset push to ${opts.repo} failed: ${redactSecrets(errorMessage(err)).split(token).join('***')}`);
  }
}
