/** Calls `fn` for each line (split on \n, \r\n or \r) with its 1-based number, without building an array. */
export function forEachLine(text: string, fn: (line: string, lineNo: number) => void): void {
  let start = 0;
  let lineNo = 0;
  const n = text.length;
  while (start <= n) {
    let end = start;
    while (end < n) {
      const c = text.charCodeAt(end);
      if (c === 10 || c === 13) break;
      end++;
    }
    lineNo++;
    fn(text.slice(start, end), lineNo);
    if (end < n && text.charCodeAt(end) === 13 && text.charCodeAt(end + 1) === 10) end++;
    start = end + 1;
  }
}
