/**
 * An allocation-free scan of one streamed completion chunk's JSON bytes: it validates the JSON strictly and finds
 * `choices[0].text`, `choices[0].delta.{content,reasoning_content,reasoning}` and `usage.{completion,prompt}_tokens`. It only
 * answers for the usual shape; anything else (an `error` key, `object: "error"`, escaped keys, duplicate keys of
 * interest, an unexpected type, deep nesting, invalid JSON) makes `scan` return false, and the caller falls back to
 * `JSON.parse`, which decides and words the failure exactly as before.
 */

/** Value kinds of a slot. */
export const ABSENT = 0;
export const NULL = 1;
export const STRING = 2;
export const OTHER = 3;

/** Slots: choices[0].text, delta.content, delta.reasoning_content, delta.reasoning. */
export const SLOT_TEXT = 0;
export const SLOT_CONTENT = 1;
export const SLOT_REASONING_CONTENT = 2;
export const SLOT_REASONING = 3;

const CTX_NONE = 0;
const CTX_TOP = 1;
const CTX_CHOICE0 = 2;
const CTX_DELTA = 3;
const CTX_USAGE = 4;
const MAX_DEPTH = 32;

const key = (s: string): Buffer => Buffer.from(s, 'latin1');
const K_CHOICES = key('choices');
const K_USAGE = key('usage');
const K_ERROR = key('error');
const K_OBJECT = key('object');
const K_TEXT = key('text');
const K_DELTA = key('delta');
const K_CONTENT = key('content');
const K_REASONING_CONTENT = key('reasoning_content');
const K_REASONING = key('reasoning');
const K_COMPLETION_TOKENS = key('completion_tokens');
const K_PROMPT_TOKENS = key('prompt_tokens');

class Invalid extends Error {}
// One preallocated throwable: bailing out of the recursion costs no allocation.
const INVALID = new Invalid('chunk needs JSON.parse');

/** The scanner; one instance is reused for every chunk (scan is synchronous). */
export class ChunkScanner {
  readonly kind = new Uint8Array(4);
  readonly start = new Int32Array(4);
  readonly end = new Int32Array(4);
  /** Whether the slot's string holds a backslash escape or a non-ASCII byte (decode it, do not copy bytes). */
  readonly special = new Uint8Array(4);
  /** usage.completion_tokens when it is a number, else NaN. */
  usageTokens = NaN;
  /** usage.prompt_tokens when it is a number, else NaN. */
  usagePromptTokens = NaN;
  private b: Buffer = Buffer.alloc(0);
  private p = 0;
  private e = 0;
  private seen = 0;
  private strSpecial = false;

  /** Scans `buf[start, end)`; true when the fields above describe the chunk, false when JSON.parse must decide. */
  scan(buf: Buffer, start: number, end: number): boolean {
    this.b = buf;
    this.p = start;
    this.e = end;
    this.kind.fill(ABSENT);
    this.usageTokens = NaN;
    this.usagePromptTokens = NaN;
    this.seen = 0;
    try {
      this.ws();
      if (this.peek() !== 0x7b) return false;
      this.object(CTX_TOP, 1);
      this.ws();
      return this.p === this.e;
    } catch (err) {
      if (err === INVALID) return false;
      throw err;
    }
  }

  private peek(): number {
    return this.p < this.e ? this.b[this.p]! : -1;
  }

  private ws(): void {
    const b = this.b;
    while (this.p < this.e) {
      const c = b[this.p]!;
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return;
      this.p++;
    }
  }

  private expect(c: number): void {
    if (this.peek() !== c) throw INVALID;
    this.p++;
  }

  /** Parses `{...}` at p; `ctx` says which keys matter. */
  private object(ctx: number, depth: number): void {
    if (depth > MAX_DEPTH) throw INVALID;
    this.expect(0x7b);
    this.ws();
    if (this.peek() === 0x7d) {
      this.p++;
      return;
    }
    for (;;) {
      this.ws();
      if (this.peek() !== 0x22) throw INVALID;
      const ks = this.p + 1;
      this.string();
      const ke = this.p - 1;
      const escaped = this.strSpecial;
      this.ws();
      this.expect(0x3a);
      this.ws();
      if (ctx === CTX_NONE) this.value(depth);
      else {
        if (escaped) throw INVALID;
        this.member(ctx, ks, ke, depth);
      }
      this.ws();
      const c = this.peek();
      this.p++;
      if (c === 0x7d) return;
      if (c !== 0x2c) throw INVALID;
    }
  }

  private member(ctx: number, ks: number, ke: number, depth: number): void {
    if (ctx === CTX_TOP) {
      if (this.keyIs(K_ERROR, ks, ke)) throw INVALID;
      if (this.keyIs(K_CHOICES, ks, ke)) return this.choices(depth);
      if (this.keyIs(K_USAGE, ks, ke)) {
        this.once(1);
        const c = this.peek();
        if (c === 0x7b) return this.object(CTX_USAGE, depth + 1);
        if (c === 0x6e) return this.value(depth);
        throw INVALID;
      }
      if (this.keyIs(K_OBJECT, ks, ke) && this.peek() === 0x22) {
        const vs = this.p + 1;
        this.string();
        // `object: "error"` (or an escaped spelling of anything) is for JSON.parse to judge.
        if (this.strSpecial || (this.p - 1 - vs === K_ERROR.length && this.b.compare(K_ERROR, 0, 5, vs, this.p - 1) === 0)) throw INVALID;
        return;
      }
    } else if (ctx === CTX_CHOICE0) {
      if (this.keyIs(K_TEXT, ks, ke)) return this.slot(SLOT_TEXT, depth);
      if (this.keyIs(K_DELTA, ks, ke)) {
        this.once(2);
        const c = this.peek();
        if (c === 0x7b) return this.object(CTX_DELTA, depth + 1);
        if (c === 0x6e) return this.value(depth);
        throw INVALID;
      }
    } else if (ctx === CTX_DELTA) {
      if (this.keyIs(K_CONTENT, ks, ke)) return this.slot(SLOT_CONTENT, depth);
      if (this.keyIs(K_REASONING_CONTENT, ks, ke)) return this.slot(SLOT_REASONING_CONTENT, depth);
      if (this.keyIs(K_REASONING, ks, ke)) return this.slot(SLOT_REASONING, depth);
    } else if (ctx === CTX_USAGE && this.keyIs(K_COMPLETION_TOKENS, ks, ke)) {
      this.once(4);
      const n = this.numberValue();
      if (n !== null) {
        this.usageTokens = n;
        return;
      }
    } else if (ctx === CTX_USAGE && this.keyIs(K_PROMPT_TOKENS, ks, ke)) {
      this.once(16);
      const n = this.numberValue();
      if (n !== null) {
        this.usagePromptTokens = n;
        return;
      }
    }
    this.value(depth);
  }

  /** A number value at the cursor, consumed; null (nothing consumed) when the value is of another type. */
  private numberValue(): number | null {
    const c = this.peek();
    if (c !== 0x2d && (c < 0x30 || c > 0x39)) return null;
    const s = this.p;
    this.number();
    return Number(this.b.toString('latin1', s, this.p));
  }

  private keyIs(k: Buffer, ks: number, ke: number): boolean {
    return ke - ks === k.length && this.b.compare(k, 0, k.length, ks, ke) === 0;
  }

  /** A key of interest seen twice would need JSON.parse's last-one-wins. */
  private once(bit: number): void {
    if ((this.seen & bit) !== 0) throw INVALID;
    this.seen |= bit;
  }

  private choices(depth: number): void {
    this.once(8);
    this.expect(0x5b);
    this.ws();
    if (this.peek() === 0x5d) {
      this.p++;
      return;
    }
    // choices[0] that is not an object is for JSON.parse to judge.
    if (this.peek() !== 0x7b) throw INVALID;
    this.object(CTX_CHOICE0, depth + 2);
    for (;;) {
      this.ws();
      const c = this.peek();
      this.p++;
      if (c === 0x5d) return;
      if (c !== 0x2c) throw INVALID;
      this.ws();
      this.value(depth + 1);
    }
  }

  private slot(i: number, depth: number): void {
    if (this.kind[i] !== ABSENT) throw INVALID;
    const c = this.peek();
    if (c === 0x22) {
      this.start[i] = this.p + 1;
      this.string();
      this.end[i] = this.p - 1;
      this.special[i] = this.strSpecial ? 1 : 0;
      this.kind[i] = STRING;
      return;
    }
    this.kind[i] = c === 0x6e ? NULL : OTHER;
    this.value(depth);
  }

  private value(depth: number): void {
    const c = this.peek();
    if (c === 0x22) this.string();
    else if (c === 0x7b) this.object(CTX_NONE, depth + 1);
    else if (c === 0x5b) this.array(depth + 1);
    else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) this.number();
    else if (c === 0x74) this.literal(0x74, 0x72, 0x75, 0x65, -1);
    else if (c === 0x66) this.literal(0x66, 0x61, 0x6c, 0x73, 0x65);
    else if (c === 0x6e) this.literal(0x6e, 0x75, 0x6c, 0x6c, -1);
    else throw INVALID;
  }

  private array(depth: number): void {
    if (depth > MAX_DEPTH) throw INVALID;
    this.expect(0x5b);
    this.ws();
    if (this.peek() === 0x5d) {
      this.p++;
      return;
    }
    for (;;) {
      this.ws();
      this.value(depth);
      this.ws();
      const c = this.peek();
      this.p++;
      if (c === 0x5d) return;
      if (c !== 0x2c) throw INVALID;
    }
  }

  private literal(a: number, b: number, c: number, d: number, e: number): void {
    const n = e === -1 ? 4 : 5;
    if (this.p + n > this.e) throw INVALID;
    const buf = this.b;
    const p = this.p;
    if (buf[p] !== a || buf[p + 1] !== b || buf[p + 2] !== c || buf[p + 3] !== d || (e !== -1 && buf[p + 4] !== e)) throw INVALID;
    this.p += n;
  }

  /** JSON's number grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
  private number(): void {
    if (this.peek() === 0x2d) this.p++;
    const c = this.peek();
    if (c === 0x30) this.p++;
    else if (c >= 0x31 && c <= 0x39) this.digits();
    else throw INVALID;
    if (this.peek() === 0x2e) {
      this.p++;
      this.digits();
    }
    const x = this.peek();
    if (x === 0x65 || x === 0x45) {
      this.p++;
      const s = this.peek();
      if (s === 0x2b || s === 0x2d) this.p++;
      this.digits();
    }
  }

  private digits(): void {
    const s = this.p;
    while (this.p < this.e) {
      const c = this.b[this.p]!;
      if (c < 0x30 || c > 0x39) break;
      this.p++;
    }
    if (this.p === s) throw INVALID;
  }

  /** A string at p (opening quote); leaves p after the closing quote, strSpecial set for escapes or non-ASCII. */
  private string(): void {
    const b = this.b;
    let p = this.p + 1;
    let special = false;
    for (;;) {
      if (p >= this.e) throw INVALID;
      const c = b[p]!;
      if (c === 0x22) break;
      // Raw control characters are invalid JSON; bytes >= 0x80 are text (invalid UTF-8 decodes to U+FFFD).
      if (c < 0x20) throw INVALID;
      if (c >= 0x80) special = true;
      else if (c === 0x5c) {
        special = true;
        const n = p + 1 < this.e ? b[p + 1]! : -1;
        if (n === 0x75) {
          if (p + 6 > this.e) throw INVALID;
          for (let k = p + 2; k < p + 6; k++) if (!isHex(b[k]!)) throw INVALID;
          p += 6;
          continue;
        }
        if (n !== 0x22 && n !== 0x5c && n !== 0x2f && n !== 0x62 && n !== 0x66 && n !== 0x6e && n !== 0x72 && n !== 0x74) throw INVALID;
        p += 2;
        continue;
      }
      p++;
    }
    this.strSpecial = special;
    this.p = p + 1;
  }
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}
