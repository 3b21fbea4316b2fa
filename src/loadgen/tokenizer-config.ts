import { IsobenchError } from '../core/index.js';

/**
 * The tokenizer classes whose transformers 4.x tokenizer rebuilds tokenizer.json's post-processor from
 * `add_bos_token` / `add_eos_token` (`update_post_processor` in tokenization_{llama,code_llama,gemma,cohere}_fast.py;
 * their slow twins read the same flags in `build_inputs_with_special_tokens`), with each class's defaults for a key
 * tokenizer_config.json leaves out. Every other class keeps tokenizer.json's post-processor whatever the flags say.
 */
const FLAG_CLASSES: Readonly<Record<string, { bos: string; eos: string }>> = {
  LlamaTokenizer: { bos: '<s>', eos: '</s>' },
  CodeLlamaTokenizer: { bos: '<s>', eos: '</s>' },
  GemmaTokenizer: { bos: '<bos>', eos: '<eos>' },
  CohereTokenizer: { bos: '<BOS_TOKEN>', eos: '<|END_OF_TURN_TOKEN|>' },
};

type Json = Record<string, unknown>;
type TemplatePiece = { SpecialToken: { id: string; type_id: number } } | { Sequence: { id: 'A' | 'B'; type_id: number } };

/** The tokenizer_config.json keys the post-processor depends on (special_tokens_map.json fills a missing token). */
export interface SpecialTokenSettings {
  config: Json;
  specialTokensMap: Json;
}

/**
 * tokenizer.json as transformers would use it: for a class in FLAG_CLASSES, its post-processor replaced by the
 * template those flags describe (a BOS template is dropped when `add_bos_token` is false); otherwise unchanged.
 */
export function applySpecialTokenFlags(tokenizerJson: Json, settings: SpecialTokenSettings, file: string): Json {
  const defaults = flagClassDefaults(settings.config.tokenizer_class);
  if (defaults === null) return tokenizerJson;
  const addBos = flag(settings.config.add_bos_token, true);
  const addEos = flag(settings.config.add_eos_token, false);
  const bos = addBos ? specialToken('bos_token', defaults.bos, settings, file) : null;
  const eos = addEos ? specialToken('eos_token', defaults.eos, settings, file) : null;
  return { ...tokenizerJson, post_processor: template(bos, eos, tokenizerJson, file) };
}

/** `LlamaTokenizerFast` and `LlamaTokenizer` alike: AutoTokenizer loads the fast twin of a slow class name. */
function flagClassDefaults(tokenizerClass: unknown): { bos: string; eos: string } | null {
  if (typeof tokenizerClass !== 'string') return null;
  return FLAG_CLASSES[tokenizerClass.replace(/Fast$/, '')] ?? null;
}

function flag(value: unknown, classDefault: boolean): boolean {
  return typeof value === 'boolean' ? value : classDefault;
}

/** The token's text: a string, or an AddedToken object (`{"__type": "AddedToken", "content": ...}`). */
function tokenContent(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && typeof (value as Json).content === 'string') return (value as Json).content as string;
  return null;
}

function specialToken(key: 'bos_token' | 'eos_token', classDefault: string, settings: SpecialTokenSettings, file: string): string {
  const given = key in settings.config ? settings.config[key] : (settings.specialTokensMap[key] ?? classDefault);
  const content = tokenContent(given);
  if (content === null) {
    // transformers 4.x raises here too ("add_bos_token = True but bos_token = None"), so vLLM would not start.
    throw new IsobenchError('E_TOKENIZER_UNAVAILABLE', `tokenizer ${file}: add_${key} is true but ${key} is ${JSON.stringify(given)}`, {
      hint: `set ${key} in tokenizer_config.json, or add_${key}: false`,
    });
  }
  return content;
}

function template(bos: string | null, eos: string | null, tokenizerJson: Json, file: string): Json {
  const seq = (id: 'A' | 'B', typeId: number): TemplatePiece[] => [
    ...(bos === null ? [] : [{ SpecialToken: { id: bos, type_id: typeId } }]),
    { Sequence: { id, type_id: typeId } },
    ...(eos === null ? [] : [{ SpecialToken: { id: eos, type_id: typeId } }]),
  ];
  const tokens = [bos, eos].filter((t): t is string => t !== null);
  return {
    type: 'TemplateProcessing',
    single: seq('A', 0),
    pair: [...seq('A', 0), ...seq('B', 1)],
    special_tokens: Object.fromEntries(tokens.map((t) => [t, { id: t, ids: [tokenId(t, tokenizerJson, file)], tokens: [t] }])),
  };
}

/** The id of `content` among tokenizer.json's added tokens, else in its model's vocabulary. */
function tokenId(content: string, tokenizerJson: Json, file: string): number {
  const added = Array.isArray(tokenizerJson.added_tokens) ? (tokenizerJson.added_tokens as Json[]) : [];
  const hit = added.find((t) => t.content === content);
  if (typeof hit?.id === 'number') return hit.id;
  const vocab = (tokenizerJson.model as Json | undefined)?.vocab;
  const id = Array.isArray(vocab)
    ? vocab.findIndex((entry) => (Array.isArray(entry) ? entry[0] : entry) === content) // Unigram: [piece, score]
    : (vocab as Json | undefined)?.[content];
  if (typeof id === 'number' && id >= 0) return id;
  // transformers would append it as a new token; a prompt length counted against a guessed id would be wrong.
  throw new IsobenchError('E_TOKENIZER_UNAVAILABLE', `tokenizer ${file}: special token ${JSON.stringify(content)} is not in its vocabulary`, {
    hint: 'check bos_token / eos_token in tokenizer_config.json',
  });
}
