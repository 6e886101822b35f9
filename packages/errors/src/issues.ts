/** One problem found by a validation, in the one shape every `details.issues` has. */
export interface Issue {
  /** Dotted path of the offending value, e.g. `indicators.0.iban`; `''` for the value itself. */
  path: string;
  /** Kind of problem: zod's issue code (`invalid_type`, `unrecognized_keys`, …) or `custom`. */
  code: string;
  message: string;
  /** For `unrecognized_keys`: the keys that are not allowed. */
  keys?: string[];
}

/** What `toIssues` reads: a zod 4 issue, or a problem found by a check of one's own. */
export interface IssueSource {
  readonly path: readonly PropertyKey[];
  readonly code?: string;
  readonly message: string;
  readonly keys?: readonly string[];
}

/**
 * Formats a path (`['indicators', 0, 'iban']`) as `details.issues` names it: `indicators.0.iban`.
 *
 * @example
 * ```ts
 * issuePath(['grading', 'confidence']); // 'grading.confidence'
 * ```
 */
export function issuePath(path: readonly PropertyKey[]): string {
  return path.map(String).join('.');
}

/**
 * The `details.issues` of a failed validation: zod 4's issues (`result.error.issues`) or
 * one's own, each with its dotted path, code and message. Messages are passed on as they
 * are: a schema whose values are secret must not put them into its messages.
 *
 * @example
 * ```ts
 * const parsed = schema.safeParse(value);
 * if (!parsed.success)
 *   throw new MosaicError('ERR_SCHEMA', 'invalid', { details: { issues: toIssues(parsed.error.issues) } });
 * ```
 */
export function toIssues(issues: readonly IssueSource[]): Issue[] {
  return issues.map((issue) => {
    const out: Issue = {
      path: issuePath(issue.path),
      code: issue.code ?? 'custom',
      message: issue.message,
    };
    if (issue.code === 'unrecognized_keys' && issue.keys !== undefined) out.keys = [...issue.keys];
    return out;
  });
}
