import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import type { EngineConfig } from '../../src/engine/index.js';

/**
 * Test images made locally (no registry): a base image imported from a root filesystem holding this machine's node
 * binary, the libraries `ldd` lists, /bin/sh and patch; then an image built FROM it with the CLI bundled into one
 * file (so `node /app/isobench.mjs sim serve` is the stand-in vLLM) and a site-packages tree with a `vllm/` package.
 * Both are cached by content hash, so repeated runs only re-tag.
 */

const run = promisify(execFile);
export const repoRoot = path.resolve(import.meta.dirname, '../..');

/** The python file of the fake installed package that agent patches change. */
export const PACKAGE_FILE = 'vllm/engine/a.py';
export const PACKAGE_FILE_TEXT = 'def f():\n    return 1\n# end\n';
export const PACKAGE_ROOT = '/opt/site-packages';

async function docker(host: string, args: string[], input?: string): Promise<string> {
  const p = run('docker', args, { env: { ...process.env, DOCKER_HOST: host, DOCKER_BUILDKIT: '0' }, maxBuffer: 64 * 1024 * 1024 });
  if (input !== undefined) p.child.stdin?.end(input);
  return (await p).stdout;
}

async function imageExists(host: string, tag: string): Promise<boolean> {
  return docker(host, ['image', 'inspect', tag]).then(
    () => true,
    () => false,
  );
}

function libsOf(binary: string): string[] {
  const out = execFileSync('ldd', [binary], { encoding: 'utf8' });
  return [...out.matchAll(/(\/\S+)/g)].map((m) => m[1] ?? '').filter((p) => p !== '' && existsSync(p));
}

/** The host binaries the base image carries. */
function baseBinaries(): Record<string, string> {
  const which = (cmd: string) => execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim();
  return { '/usr/local/bin/node': realpathSync(process.execPath), '/bin/sh': realpathSync(which('sh')), '/usr/bin/patch': realpathSync(which('patch')) };
}

/** Imports the base image (node + its libraries + sh + patch) unless one with the same content hash exists. */
export async function ensureBaseImage(host: string): Promise<string> {
  const bins = baseBinaries();
  const files = new Set<string>(Object.values(bins).flatMap((b) => [b, ...libsOf(b)]));
  const hash = createHash('sha256');
  for (const f of [...files].sort()) {
    const st = statSync(f);
    hash.update(`${f}:${st.size}:${st.mtimeMs}\n`);
  }
  const tag = `isobench-test/base:${hash.digest('hex').slice(0, 16)}`;
  if (await imageExists(host, tag)) return tag;
  const root = mkdtempSync(path.join(tmpdir(), 'isobench-rootfs-'));
  try {
    for (const [dest, src] of Object.entries(bins)) {
      mkdirSync(path.join(root, path.dirname(dest)), { recursive: true });
      copyFileSync(src, path.join(root, dest));
    }
    for (const lib of new Set(Object.values(bins).flatMap(libsOf))) {
      mkdirSync(path.join(root, path.dirname(lib)), { recursive: true });
      copyFileSync(realpathSync(lib), path.join(root, lib));
    }
    mkdirSync(path.join(root, 'etc'));
    writeFileSync(path.join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
    mkdirSync(path.join(root, 'tmp'), { mode: 0o1777 });
    mkdirSync(path.join(root, 'root'));
    execFileSync('sh', ['-c', `tar -C "${root}" -c . | docker import - "${tag}" >/dev/null`], { env: { ...process.env, DOCKER_HOST: host } });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return tag;
}

/** Native packages the sim server never loads: replaced by a stub that throws if used, so the bundle is one file. */
const NATIVE = /^(better-sqlite3|@duckdb\/node-api|pg-native|cpu-features|ssh2|dockerode)$/;

/** Bundles the CLI (`node isobench.mjs sim serve ...`) into one ESM file. */
export async function bundleCli(outfile: string): Promise<void> {
  await build({
    entryPoints: [path.join(repoRoot, 'src/cli/main.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile,
    logLevel: 'error',
    banner: { js: "import { createRequire as __isobenchRequire } from 'node:module'; const require = __isobenchRequire(import.meta.url);" },
    plugins: [
      {
        name: 'stub-native',
        setup(b) {
          b.onResolve({ filter: NATIVE }, (a) => ({ path: a.path, namespace: 'stub' }));
          b.onLoad({ filter: /.*/, namespace: 'stub' }, (a) => ({
            contents: `const fail = () => { throw new Error('${a.path} is not in this image'); }; module.exports = new Proxy({}, { get: (_t, k) => (k === '__esModule' ? false : fail) });`,
            loader: 'js',
          }));
        },
      },
    ],
  });
}

/**
 * Builds the stand-in vLLM image and tags it with the default names of `commit` (human) and `parent` (baseline),
 * so that the docker engine's default image templates resolve. Returns the app image tag.
 */
export async function ensureTestImages(host: string, commit: string, parent: string): Promise<string> {
  const base = await ensureBaseImage(host);
  const ctx = mkdtempSync(path.join(tmpdir(), 'isobench-image-'));
  try {
    await bundleCli(path.join(ctx, 'isobench.mjs'));
    const pkg = path.join(ctx, 'site-packages');
    mkdirSync(path.join(pkg, path.dirname(PACKAGE_FILE)), { recursive: true });
    writeFileSync(path.join(pkg, 'vllm/__init__.py'), '');
    writeFileSync(path.join(pkg, PACKAGE_FILE), PACKAGE_FILE_TEXT);
    writeFileSync(path.join(ctx, 'Dockerfile'), `FROM ${base}\nCOPY isobench.mjs /app/isobench.mjs\nCOPY site-packages ${PACKAGE_ROOT}\nWORKDIR /tmp\n`);
    const hash = createHash('sha256');
    for (const f of ['Dockerfile', 'isobench.mjs', `site-packages/${PACKAGE_FILE}`]) hash.update(readFileSync(path.join(ctx, f)));
    const tag = `isobench-test/app:${hash.digest('hex').slice(0, 16)}`;
    if (!(await imageExists(host, tag))) await docker(host, ['build', '-q', '-t', tag, ctx]);
    await docker(host, ['tag', tag, `anonymous/vllm-bench:${commit}`]);
    await docker(host, ['tag', tag, `anonymous/vllm-baseline:baseline-${parent.slice(0, 12)}`]);
    return tag;
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
}

/**
 * The Docker daemon for tests: ISOBENCH_TEST_DOCKER_HOST, else (outside CI) one started by scripts/ci-services.sh.
 * In CI a missing daemon is an error; elsewhere, without dockerd installed, undefined (the tests are skipped).
 */
export function testDockerHost(): string | undefined {
  const given = process.env.ISOBENCH_TEST_DOCKER_HOST;
  if (given) return given;
  if (process.env.CI === 'true') throw new Error('CI=true but ISOBENCH_TEST_DOCKER_HOST is not set: eval "$(bash scripts/ci-services.sh start)" first');
  try {
    execFileSync('sh', ['-c', 'command -v dockerd'], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  const out = execFileSync('bash', [path.join(repoRoot, 'scripts/ci-services.sh'), 'start', 'docker'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const m = /ISOBENCH_TEST_DOCKER_HOST=(\S+)/.exec(out);
  if (!m?.[1]) throw new Error(`scripts/ci-services.sh start docker printed no ISOBENCH_TEST_DOCKER_HOST: ${out}`);
  return m[1];
}

/** The docker engine settings every docker test uses: the test images' layout, no GPUs, a quick stop. */
export function testDockerEngineConfig(host: string, runId: string, stateDir: string, serverFlags = ''): EngineConfig {
  return {
    kind: 'docker',
    runId,
    dockerHost: host,
    gpus: 'none',
    shmSize: '64m',
    hfCache: path.join(stateDir, 'hf'),
    packageRoot: PACKAGE_ROOT,
    workDir: path.join(stateDir, 'work'),
    stopGraceMs: 2000,
    serverTemplate: `node /app/isobench.mjs sim serve --model {model} --host 0.0.0.0 --port {port} ${serverFlags}{server_args}`,
    execTemplate: 'node {script} {args}',
  };
}

/**
 * The host's C toolchain (gcc, cc1, binutils, glibc headers and crt files: every file of the Debian packages that own
 * them, outside /usr/share, plus the libraries `ldd` lists for their programs) as a tar file for an image, or
 * undefined when the host has no gcc or no dpkg to say which files make it up. No registry holds a compiler image
 * here, so the docker build tests compile inside an image made from this.
 */
export function hostToolchainTar(dest: string): { tar: string; hash: string } | undefined {
  const sh = (cmd: string) => execFileSync('sh', ['-c', cmd], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }).trim();
  try {
    sh('command -v gcc && command -v dpkg && command -v ldd');
  } catch {
    return undefined;
  }
  const owners = ['$(realpath "$(command -v gcc)")', '$(gcc -print-prog-name=cc1)', '$(realpath "$(command -v as)")', '$(realpath "$(command -v ld)")', '$(gcc -print-file-name=crtbegin.o)', '$(gcc -print-file-name=crt1.o)', '/usr/include/stdio.h', '/usr/include/linux/limits.h'];
  const packages = [...new Set(owners.map((f) => sh(`dpkg -S "$(realpath ${f})" | head -n 1 | cut -d: -f1`)))];
  const files = sh(`dpkg -L ${packages.join(' ')} | sort -u`)
    .split('\n')
    .filter((f) => f.startsWith('/') && !f.startsWith('/usr/share/') && !/\/(lto1|lto-dump[^/]*)$/.test(f))
    .filter((f) => {
      try {
        const st = statSync(f);
        return st.isFile();
      } catch {
        return false;
      }
    });
  const hash = createHash('sha256');
  for (const f of files) hash.update(`${f}:${statSync(f).size}\n`);
  const root = mkdtempSync(path.join(tmpdir(), 'isobench-toolchain-'));
  try {
    const list = path.join(root, 'files.txt');
    writeFileSync(list, `${files.join('\n')}\n`);
    const tree = path.join(root, 'tree');
    mkdirSync(tree);
    sh(`tar -c --files-from="${list}" 2>/dev/null | tar -x -C "${tree}"`);
    const programs = files.filter((f) => /\/(bin|libexec)\//.test(f));
    const elf = (p: string) => readFileSync(p).subarray(0, 4).equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
    const libs = new Set(programs.flatMap((p) => (elf(p) ? libsOf(p) : [])));
    for (const lib of libs) {
      mkdirSync(path.join(tree, path.dirname(lib)), { recursive: true });
      copyFileSync(realpathSync(lib), path.join(tree, lib));
    }
    // The `binutils` and `gcc` packages' plain names (as, ld, cc, gcc) point at the versioned programs.
    const gccName = path.basename(realpathSync(sh('command -v gcc')));
    sh(`cd "${tree}/usr/bin" && ln -sf x86_64-linux-gnu-as as && ln -sf x86_64-linux-gnu-ld ld && ln -sf ${gccName} gcc && ln -sf ${gccName} cc`);
    sh(`tar -C "${tree}" -cf "${dest}" .`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return { tar: dest, hash: hash.digest('hex').slice(0, 16) };
}

/** The C source of the test engine: the compiled program prints the sim server's flags, `--decode-base-ms 2`. */
export const ENGINE_SOURCE = 'engine.c';
export const ENGINE_SOURCE_TEXT = '#include <stdio.h>\n\nstatic const int decode_ms = 2;\n\nint main(void) {\n  printf("--decode-base-ms %d\\n", decode_ms);\n  return 0;\n}\n';
export const ENGINE_SOURCE_DIR = '/src/engine';

/**
 * A tiny compiled "engine" image: the stand-in vLLM image (node + the CLI) plus the host's C toolchain, with
 * `engine.c` in /src/engine compiled there by gcc at image build time; its server command asks the compiled program for
 * the sim server's flags (`/app/serve.sh {model} {port} {server_args}`). Undefined without a toolchain to copy.
 */
export async function ensureCompiledEngineImage(host: string, commit: string, parent: string): Promise<string | undefined> {
  const app = await ensureTestImages(host, commit, parent);
  const ctx = mkdtempSync(path.join(tmpdir(), 'isobench-cc-image-'));
  try {
    const toolchain = hostToolchainTar(path.join(ctx, 'toolchain.tar'));
    if (!toolchain) return undefined;
    mkdirSync(path.join(ctx, 'src'));
    writeFileSync(path.join(ctx, 'src', ENGINE_SOURCE), ENGINE_SOURCE_TEXT);
    writeFileSync(path.join(ctx, 'serve.sh'), 'model="$1"; port="$2"; shift 2\nexec node /app/isobench.mjs sim serve --model "$model" --host 0.0.0.0 --port "$port" $(/src/engine/engine) "$@"\n');
    const cc = `isobench-test/cc:${toolchain.hash}`;
    if (!(await imageExists(host, cc))) {
      writeFileSync(path.join(ctx, 'Dockerfile'), `FROM ${await ensureBaseImage(host)}\nADD toolchain.tar /\n`);
      await docker(host, ['build', '-q', '-t', cc, ctx]);
    }
    writeFileSync(path.join(ctx, 'Dockerfile'), `FROM ${cc}\nCOPY --from=${app} /app /app\nCOPY src ${ENGINE_SOURCE_DIR}\nCOPY serve.sh /app/serve.sh\nRUN ["cc", "-O2", "-o", "${ENGINE_SOURCE_DIR}/engine", "${ENGINE_SOURCE_DIR}/${ENGINE_SOURCE}"]\nWORKDIR /tmp\n`);
    const hash = createHash('sha256').update(`${app}${cc}${ENGINE_SOURCE_TEXT}${readFileSync(path.join(ctx, 'serve.sh'), 'utf8')}${readFileSync(path.join(ctx, 'Dockerfile'), 'utf8')}`);
    const tag = `isobench-test/engine:${hash.digest('hex').slice(0, 16)}`;
    if (!(await imageExists(host, tag))) await docker(host, ['build', '-q', '-t', tag, ctx]);
    return tag;
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
}
