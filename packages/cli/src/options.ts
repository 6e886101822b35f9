import { timestampSchema } from '@mosaic/contract';

/**
 * One option of a command, defined once: how `--help` describes it and how its value is
 * parsed. `parse` returns the typed value, or `{ expected }` — what the option takes, for
 * the one usage message every command gives (`--<name> must be <expected>, not "<value>"`).
 */
export interface OptionDef<T = unknown, Present extends boolean = boolean> {
  kind: 'string' | 'integer' | 'time' | 'duration' | 'enum' | 'list' | 'boolean';
  /** What `--help` shows after the flag, e.g. `<file>`; empty for a boolean. */
  placeholder: string;
  description: string;
  /** Refused when absent (`--<name> is required`). */
  required: boolean;
  /** The value when absent; shown in `--help` as `(default: …)` when `showDefault`. */
  default?: T;
  showDefault?: string;
  /** For enums: the accepted values, offered as "did you mean" when one is mistyped. */
  choices?: readonly string[];
  parse(raw: string): T | { expected: string };
  /** Type-level only: whether the parsed value is always there (required or defaulted). */
  readonly present?: Present;
}

export type OptionDefs = Readonly<Record<string, OptionDef>>;

/** The typed values of a command's options: `T` when required or defaulted, else `T | undefined`. */
export type OptionValues<D extends OptionDefs> = {
  [K in keyof D]: D[K] extends OptionDef<infer T, infer Present>
    ? Present extends true
      ? T
      : T | undefined
    : never;
};

interface Common {
  description: string;
  /** Replaces the default placeholder, e.g. `<operator.json>`. */
  placeholder?: string;
}

type Presence<R, D> = R extends true ? true : D extends undefined ? false : true;

function failed(expected: string): { expected: string } {
  return { expected };
}

/** A string option; an empty value is refused like a missing one. */
export function string<
  const R extends boolean = false,
  const D extends string | undefined = undefined,
>(
  o: Common & { required?: R; default?: D; showDefault?: string },
): OptionDef<string, Presence<R, D>> {
  return {
    kind: 'string',
    placeholder: o.placeholder ?? '<text>',
    description: o.description,
    required: o.required === true,
    ...(o.default === undefined
      ? {}
      : { default: o.default, showDefault: o.showDefault ?? o.default }),
    parse: (raw) => (raw === '' ? failed(`a non-empty ${o.placeholder ?? '<text>'}`) : raw),
  };
}

/** A comma-separated list; empty entries are dropped, and an empty list is refused. */
export function list<const R extends boolean = false>(
  o: Common & { required?: R },
): OptionDef<string[], Presence<R, undefined>> {
  const placeholder = o.placeholder ?? '<a,b,…>';
  return {
    kind: 'list',
    placeholder,
    description: o.description,
    required: o.required === true,
    parse(raw) {
      const items = raw
        .split(',')
        .map((v) => v.trim())
        .filter((v) => v !== '');
      return items.length === 0 ? failed(`a comma-separated list ${placeholder}`) : items;
    },
  };
}

/** A decimal integer within `min`..`max` (both inclusive). */
export function integer<
  const R extends boolean = false,
  const D extends number | undefined = undefined,
>(
  o: Common & { min: number; max?: number; required?: R; default?: D; showDefault?: string },
): OptionDef<number, Presence<R, D>> {
  const max = o.max ?? Number.MAX_SAFE_INTEGER;
  const expected =
    o.max === undefined ? `an integer >= ${o.min}` : `an integer from ${o.min} to ${o.max}`;
  return {
    kind: 'integer',
    placeholder: o.placeholder ?? '<n>',
    description: o.description,
    required: o.required === true,
    ...(o.default === undefined ? {} : { default: o.default }),
    ...(o.showDefault === undefined && o.default === undefined
      ? {}
      : { showDefault: o.showDefault ?? String(o.default) }),
    parse(raw) {
      const n = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
      return Number.isSafeInteger(n) && n >= o.min && n <= max ? n : failed(expected);
    },
  };
}

const RFC3339_OR_DATE =
  /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2}))?$/;

/**
 * What a time option accepts: `utc-or-now` — an RFC 3339 UTC time or `now`, as the hub's
 * operator API parses them (resolve `now` where it is used, not at parse time);
 * `rfc3339-or-date` — an RFC 3339 time with any offset, or a date (UTC midnight).
 */
export type TimeGrammar = 'utc-or-now' | 'rfc3339-or-date';

/** A point in time, returned as written (validated), so `now` means the moment it is used. */
export function time<const R extends boolean = false>(
  o: Common & { accepts: TimeGrammar; required?: R },
): OptionDef<string, Presence<R, undefined>> {
  const expected =
    o.accepts === 'utc-or-now'
      ? 'an RFC 3339 time such as 2026-01-31T12:00:00Z, or "now"'
      : 'an RFC 3339 time (2025-06-01T00:00:00Z) or a date (2025-06-01)';
  return {
    kind: 'time',
    placeholder: o.placeholder ?? '<time>',
    description: o.description,
    required: o.required === true,
    parse(raw) {
      if (o.accepts === 'utc-or-now')
        return raw === 'now' || timestampSchema.safeParse(raw).success ? raw : failed(expected);
      return RFC3339_OR_DATE.test(raw) && !Number.isNaN(new Date(raw).getTime())
        ? raw
        : failed(expected);
    },
  };
}

const DURATION_UNITS = { ms: 1, s: 1_000, m: 60_000 } as const;

/** A duration in milliseconds: `500ms`, `90s`, `2m`, or a bare number of seconds. */
export function duration<const R extends boolean = false>(
  o: Common & { required?: R; showDefault?: string },
): OptionDef<number, Presence<R, undefined>> {
  return {
    kind: 'duration',
    placeholder: o.placeholder ?? '<duration>',
    description: o.description,
    required: o.required === true,
    ...(o.showDefault === undefined ? {} : { showDefault: o.showDefault }),
    parse(raw) {
      const m = /^(\d+)(ms|s|m)?$/.exec(raw);
      if (m === null) return failed('a duration such as 60s, 2m or 500ms');
      return Number(m[1]) * DURATION_UNITS[(m[2] ?? 's') as keyof typeof DURATION_UNITS];
    },
  };
}

function orList(values: readonly string[]): string {
  return values.length === 1
    ? `"${values[0] ?? ''}"`
    : `${values.slice(0, -1).join(', ')} or ${values.at(-1) ?? ''}`;
}

/** One of a fixed set of words. */
export function oneOf<
  const V extends readonly [string, ...string[]],
  const R extends boolean = false,
  const D extends V[number] | undefined = undefined,
>(o: Common & { values: V; required?: R; default?: D }): OptionDef<V[number], Presence<R, D>> {
  return {
    kind: 'enum',
    placeholder: o.placeholder ?? o.values.join('|'),
    description: o.description,
    required: o.required === true,
    choices: o.values,
    ...(o.default === undefined ? {} : { default: o.default, showDefault: o.default }),
    parse: (raw) => {
      const value = o.values.find((v) => v === raw);
      return value === undefined ? failed(orList(o.values)) : value;
    },
  };
}

/** A switch: true when given, false when not; it takes no value. */
export function flag(o: { description: string }): OptionDef<boolean, true> {
  return {
    kind: 'boolean',
    placeholder: '',
    description: o.description,
    required: false,
    default: false,
    parse: () => true,
  };
}

const HELP_WIDTH = 90;
/** Flags longer than this get their description on the next line. */
const MAX_FLAG_COLUMN = 26;

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  for (const paragraph of text.split('\n')) {
    let line = '';
    for (const word of paragraph.split(' ')) {
      if (line !== '' && line.length + 1 + word.length > width) {
        lines.push(line);
        line = word;
      } else line = line === '' ? word : `${line} ${word}`;
    }
    lines.push(line);
  }
  return lines;
}

/** The text of one option in `--help`: its description, then required and default. */
export function describeOption(def: OptionDef): string {
  const notes: string[] = [];
  if (def.required) notes.push('required');
  if (def.showDefault !== undefined) notes.push(`default: ${def.showDefault}`);
  return notes.length === 0 ? def.description : `${def.description} (${notes.join('; ')})`;
}

/**
 * The `Options:` section of a command's `--help`, generated from its definitions in their
 * order, `-h, --help` last.
 */
export function optionsHelp(defs: OptionDefs): string {
  const rows = Object.entries(defs).map(([name, def]) => ({
    flag: def.placeholder === '' ? `--${name}` : `--${name} ${def.placeholder}`,
    text: describeOption(def),
  }));
  rows.push({ flag: '-h, --help', text: 'show this help' });
  const column = Math.max(...rows.map((r) => r.flag.length).filter((n) => n <= MAX_FLAG_COLUMN));
  const indent = ' '.repeat(2 + column + 2);
  const out: string[] = [];
  for (const { flag: f, text } of rows) {
    const body = wrap(text, HELP_WIDTH - indent.length);
    if (f.length > column) {
      out.push(`  ${f}`);
      for (const l of body) out.push(`${indent}${l}`);
    } else {
      out.push(`  ${f.padEnd(column)}  ${body[0] ?? ''}`);
      for (const l of body.slice(1)) out.push(`${indent}${l}`);
    }
  }
  return `Options:\n${out.join('\n')}`;
}

/** `--context` of the operator commands: one definition, one description. */
export function operatorContext(): OptionDef<string, true> {
  return string({
    placeholder: '<file>',
    description:
      "the operator's context file (<data-dir>/contexts/operator.json); the broker refuses any other identity (exit 3)",
    required: true,
  });
}

/** `--reason` of the audited operator commands. */
export function reason(): OptionDef<string, true> {
  return string({
    placeholder: '<text>',
    description: 'why (kept in the audit entry)',
    required: true,
  });
}
