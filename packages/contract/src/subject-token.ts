import { ErrorCode, MosaicError } from '@mosaic/errors';
import { PATTERNS } from './patterns.ts';

/**
 * True when `value` may be used as one token of a NATS subject: a non-empty string without
 * `.`, `*`, `>`, any Unicode white space, control or invisible formatting character.
 *
 * @example
 * ```ts
 * isSubjectToken('nl-police'); // true
 * isSubjectToken('nl.police'); // false
 * isSubjectToken('>'); // false
 * ```
 */
export function isSubjectToken(value: unknown): value is string {
  return typeof value === 'string' && value !== '' && !PATTERNS.subjectTokenForbidden.test(value);
}

/**
 * Throws ERR_SUBJECT_TOKEN unless `value` is a safe subject token; `what` names the value
 * in the message (e.g. `'agency'`, `'jurisdiction'`).
 *
 * @example
 * ```ts
 * assertSubjectToken(report.origin, 'jurisdiction');
 * const subject = `mosaic.reports.${report.origin}.${report.category}`;
 * ```
 */
export function assertSubjectToken(value: unknown, what: string): asserts value is string {
  if (isSubjectToken(value)) return;
  const reason =
    typeof value !== 'string'
      ? `is a ${value === null ? 'null' : typeof value}, not a string`
      : value === ''
        ? 'is empty'
        : `holds the forbidden character U+${(value.match(PATTERNS.subjectTokenForbidden)?.[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
  throw new MosaicError(ErrorCode.SubjectToken, `${what} cannot be a subject token: it ${reason}`, {
    details: { what, value: typeof value === 'string' ? value : undefined },
  });
}
