/**
 * Edit distance: insertions, deletions, substitutions and transpositions of two adjacent
 * letters, one each (optimal string alignment), so `veriyf` is one edit from `verify`.
 */
function editDistance(a: string, b: string): number {
  let before: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      let d = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d = Math.min(d, (before[j - 2] ?? 0) + 1);
      current[j] = d;
    }
    before = previous;
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/**
 * The command paths nearest to what was typed: the closest by edit distance within a
 * third of its length (a typo, a transposition), else every command of a group whose first
 * word was typed right (`mosaic keys` → keys generate, keys rotate, keys revoke).
 */
export function nearestCommands(
  argv: readonly string[],
  paths: readonly (readonly string[])[],
): string[] {
  let best = Number.POSITIVE_INFINITY;
  let nearest: string[] = [];
  for (const path of paths) {
    const name = path.join(' ');
    const typed = argv.slice(0, path.length).join(' ');
    const d = editDistance(typed, name);
    if (d > Math.max(1, Math.floor(name.length / 3))) continue;
    if (d < best) {
      best = d;
      nearest = [name];
    } else if (d === best) nearest.push(name);
  }
  if (nearest.length > 0) return nearest;
  return paths.filter((p) => p.length > 1 && p[0] === argv[0]).map((p) => p.join(' '));
}

/**
 * The candidate nearest to a mistyped word (an option name, an option's value) within a
 * third of its length, or undefined when none is that close or two are equally close.
 */
export function nearestWord(typed: string, candidates: readonly string[]): string | undefined {
  let best = Number.POSITIVE_INFINITY;
  let nearest: string[] = [];
  for (const candidate of candidates) {
    const d = editDistance(typed, candidate);
    if (d > Math.max(1, Math.floor(candidate.length / 3))) continue;
    if (d < best) {
      best = d;
      nearest = [candidate];
    } else if (d === best) nearest.push(candidate);
  }
  return nearest.length === 1 ? nearest[0] : undefined;
}
