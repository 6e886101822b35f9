import { ErrorCode, MosaicError } from '@mosaic/errors';

function refuse(path: string, what: string): MosaicError {
  return new MosaicError(ErrorCode.AuditEntry, `cannot encode ${what} at ${path || '(root)'}`, {
    details: { path },
  });
}

function write(value: unknown, path: string, out: string[]): void {
  if (value === null || typeof value === 'boolean') {
    out.push(String(value));
  } else if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw refuse(path, 'a non-finite number');
    out.push(JSON.stringify(value));
  } else if (typeof value === 'string') {
    out.push(JSON.stringify(value));
  } else if (Array.isArray(value)) {
    out.push('[');
    value.forEach((item: unknown, i) => {
      if (i > 0) out.push(',');
      write(item, `${path}/${i}`, out);
    });
    out.push(']');
  } else if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const record = value as Record<string, unknown>;
    // UTF-16 code unit order, as RFC 8785 (JCS) sorts; undefined members are absent.
    const keys = Object.keys(record)
      .filter((k) => record[k] !== undefined)
      .sort();
    out.push('{');
    keys.forEach((key, i) => {
      if (i > 0) out.push(',');
      out.push(JSON.stringify(key), ':');
      write(record[key], `${path}/${key}`, out);
    });
    out.push('}');
  } else {
    throw refuse(path, typeof value === 'object' ? 'a non-plain object' : `a ${typeof value}`);
  }
}

/**
 * Deterministic JSON: object keys sorted, no white space, numbers and strings as
 * `JSON.stringify` writes them (the RFC 8785 forms for the values audit entries hold).
 *
 * @example
 * ```ts
 * canonicalJson({ b: [1, 'x'], a: null }); // '{"a":null,"b":[1,"x"]}'
 * ```
 */
export function canonicalJson(value: unknown): string {
  const out: string[] = [];
  write(value, '', out);
  return out.join('');
}
