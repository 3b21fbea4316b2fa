import { hashString } from './prng.js';

const CONSONANTS = 'bcdfghjklmnprstvwz';
const VOWELS = 'aeiou';
/** 90 two-letter syllables; token words are 1-3 syllables, so a word's length tells its range. */
const SYLLABLES: readonly string[] = [...CONSONANTS].flatMap((c) => [...VOWELS].map((v) => c + v));
const SYLLABLE_INDEX = new Map(SYLLABLES.map((s, i) => [s, i]));
const S = SYLLABLES.length;

function wordOf(id: number): string {
  if (id < S) return SYLLABLES[id] ?? '';
  let rest = id - S;
  if (rest < S * S) return (SYLLABLES[Math.floor(rest / S)] ?? '') + (SYLLABLES[rest % S] ?? '');
  rest -= S * S;
  return (SYLLABLES[Math.floor(rest / (S * S))] ?? '') + (SYLLABLES[Math.floor(rest / S) % S] ?? '') + (SYLLABLES[rest % S] ?? '');
}

function idOfWord(word: string): number | undefined {
  if (word.length !== 2 && word.length !== 4 && word.length !== 6) return undefined;
  let value = 0;
  for (let i = 0; i < word.length; i += 2) {
    const syl = SYLLABLE_INDEX.get(word.slice(i, i + 2));
    if (syl === undefined) return undefined;
    value = value * S + syl;
  }
  return word.length === 2 ? value : word.length === 4 ? S + value : S + S * S + value;
}

/**
 * The sim's deterministic tokenizer: token id i is the text " " + word(i), where word(i) is a fixed 1-3 syllable
 * word ("ba", "beko", ...). decode(ids) joins those texts, and encode(decode(ids)) === ids for every id list.
 * Other text is split on whitespace; a word outside the vocabulary becomes one token per 4 characters (hashed ids).
 */
export class SimTokenizer {
  readonly vocabSize: number;
  /** The text of every token, and the same text JSON-encoded (with quotes) for writing chunks without escaping. */
  readonly texts: readonly string[];
  readonly jsonTexts: readonly string[];

  constructor(vocabSize: number) {
    this.vocabSize = vocabSize;
    const texts: string[] = new Array<string>(vocabSize);
    for (let i = 0; i < vocabSize; i++) texts[i] = ' ' + wordOf(i);
    this.texts = texts;
    this.jsonTexts = texts.map((t) => JSON.stringify(t));
  }

  /** Token ids of a text. */
  encode(text: string): number[] {
    const ids: number[] = [];
    for (const word of text.split(/\s+/)) {
      if (word === '') continue;
      const id = idOfWord(word);
      if (id !== undefined && id < this.vocabSize) {
        ids.push(id);
        continue;
      }
      for (let i = 0; i < word.length; i += 4) ids.push(hashString(word.slice(i, i + 4)) % this.vocabSize);
    }
    return ids;
  }

  /** The text of token ids; ids outside the vocabulary are reported by `invalidId`. */
  decode(ids: readonly number[]): string {
    let out = '';
    for (const id of ids) out += this.texts[id] ?? '';
    return out;
  }

  /** The first id that is not a token of this vocabulary, if any. */
  invalidId(ids: readonly unknown[]): unknown {
    return ids.find((id) => typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= this.vocabSize);
  }
}
