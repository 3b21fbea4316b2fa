/**
 * Calls `fn` for each line with its 1-based number, without building an array: lines end at \n, \r\n, or a lone \r
 * (tqdm redraws progress bars with \r, and an editor shows each redraw as a line).
 */
export function forEachLine(text: string, fn: (line: string, lineNo: number) => void): void {
  let start = 0;
  let lineNo = 0;
  const n = text.length;
  while (start <= n) {
    let nl = text.indexOf('\n', start);
    if (nl < 0) nl = n;
    let segment = text.slice(start, nl);
    if (segment.endsWith('\r')) segment = segment.slice(0, -1);
    if (segment.includes('\r')) {
      for (const piece of segment.split('\r')) fn(piece, ++lineNo);
    } else fn(segment, ++lineNo);
    start = nl + 1;
  }
}

/** True when the start of a text has many control or replacement characters: binary data read as UTF-8, not a log. */
export function looksBinary(text: string): boolean {
  const sample = text.slice(0, 4096);
  let odd = 0;
  for (let i = 0; i < sample.length; i++) {
    const c = sample.charCodeAt(i);
    if (c < 9 || (c > 13 && c < 32 && c !== 27) || c === 0xfffd) odd++;
  }
  return sample.length > 0 && odd > sample.length / 10;
}
