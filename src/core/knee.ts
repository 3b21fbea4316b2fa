/**
 * The knee of a latency vs throughput curve (Kneedle): both axes scaled to [0, 1] over the points, the point farthest
 * below the chord from the lowest- to the highest-throughput point, i.e. where latency starts to rise faster than
 * throughput. Returns the index into `points`; null with fewer than 3 points or a flat curve. Used by `bench sweep`,
 * run's sweep results and the report.
 */
export function kneeIndex(points: readonly { x: number; y: number }[]): number | null {
  if (points.length < 3) return null;
  const order = points.map((_, i) => i).sort((a, b) => points[a]!.x - points[b]!.x);
  const xs = order.map((i) => points[i]!.x);
  const ys = order.map((i) => points[i]!.y);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  if (!(x1 > x0) || !(y1 > y0)) return null;
  const nx = xs.map((x) => (x - x0) / (x1 - x0));
  const ny = ys.map((y) => (y - y0) / (y1 - y0));
  const [ax, ay, bx, by] = [nx[0]!, ny[0]!, nx[nx.length - 1]!, ny[ny.length - 1]!];
  let best = -1;
  let bestD = 0;
  for (let k = 1; k < nx.length - 1; k++) {
    // Distance below the chord in y (latency still low for the throughput reached): positive before the rise.
    const chordY = ay + ((by - ay) * (nx[k]! - ax)) / (bx - ax || 1);
    const d = chordY - ny[k]!;
    if (d > bestD) {
      bestD = d;
      best = k;
    }
  }
  return best === -1 ? null : order[best]!;
}
