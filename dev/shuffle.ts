/** A deterministic shuffle (LCG), so a failing order or a benchmark run can be replayed from its seed. */
export function shuffle<T>(items: readonly T[], seed: number): T[] {
  const a = [...items];
  let x = seed || 1;
  for (let i = a.length - 1; i > 0; i--) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    const j = x % (i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}
