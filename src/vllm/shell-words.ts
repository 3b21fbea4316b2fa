/**
 * A POSIX-shell-like word splitter: enough of the quoting rules to read a benchmark command without running a shell.
 * Supports single quotes, double quotes (with \" \\ \$ \` escapes), backslash escapes and line continuations.
 * Unquoted control operators (`&&`, `||`, `;`, `|`, `>`, `<`, `&`) end the command; what follows is returned apart.
 */
export type ShellWords =
  | { status: 'ok'; words: string[]; rest: string | undefined }
  | { status: 'error'; message: string };

const OPERATOR_CHARS = new Set([';', '&', '|', '>', '<']);

/** Splits a command line into words; an unterminated quote or a trailing backslash is an error, not a guess. */
export function splitShellWords(input: string): ShellWords {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let i = 0;
  const n = input.length;
  while (i < n) {
    const c = input.charAt(i);
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      i++;
      continue;
    }
    if (OPERATOR_CHARS.has(c)) {
      // `2>&1`: a file-descriptor digit glued to a redirection belongs to the operator, not to the word.
      if (inWord && /^\d+$/.test(word) && (c === '>' || c === '<')) {
        return { status: 'ok', words, rest: input.slice(i - word.length).trim() };
      }
      if (inWord) words.push(word);
      return { status: 'ok', words, rest: input.slice(i).trim() };
    }
    if (c === '\\') {
      if (i + 1 >= n) return { status: 'error', message: 'the command ends with a lone backslash' };
      const next = input.charAt(i + 1);
      if (next === '\n') {
        i += 2;
        continue;
      }
      word += next;
      inWord = true;
      i += 2;
      continue;
    }
    if (c === "'") {
      const end = input.indexOf("'", i + 1);
      if (end < 0) return { status: 'error', message: `unterminated single quote starting at character ${i + 1}` };
      word += input.slice(i + 1, end);
      inWord = true;
      i = end + 1;
      continue;
    }
    if (c === '"') {
      const start = i;
      i++;
      let closed = false;
      while (i < n) {
        const d = input.charAt(i);
        if (d === '"') {
          closed = true;
          i++;
          break;
        }
        if (d === '\\' && i + 1 < n && '"\\$`\n'.includes(input.charAt(i + 1))) {
          if (input.charAt(i + 1) !== '\n') word += input.charAt(i + 1);
          i += 2;
          continue;
        }
        word += d;
        i++;
      }
      if (!closed) return { status: 'error', message: `unterminated double quote starting at character ${start + 1}` };
      inWord = true;
      continue;
    }
    word += c;
    inWord = true;
    i++;
  }
  if (inWord) words.push(word);
  return { status: 'ok', words, rest: undefined };
}

/** A word as the shell reads it back: bare when it has only safe characters, else in single quotes. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
