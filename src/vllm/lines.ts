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
