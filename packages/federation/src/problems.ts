/** One thing wrong with a federation file, at a path such as `agencies[1].keys[0].notAfter`. */
export interface FederationProblem {
  path: string;
  message: string;
}

/** Formats a zod-style path (`['agencies', 1, 'id']`) as `agencies[1].id`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? '(root)' : out;
}

/**
 * The problems of a failed zod parse of (part of) a federation, in `details.problems` form.
 *
 * @example
 * ```ts
 * const parsed = agencySchema.safeParse(value);
 * if (!parsed.success) fail(toProblems(parsed.error.issues));
 * ```
 */
export function toProblems(
  issues: readonly { path: readonly PropertyKey[]; message: string }[],
): FederationProblem[] {
  return issues.map((issue) => ({ path: formatPath(issue.path), message: issue.message }));
}
