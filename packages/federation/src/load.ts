import { open } from 'node:fs/promises';
import { ErrorCode, MosaicError, isMosaicError } from '@mosaic/errors';
import { LineCounter, isAlias, isNode, parseDocument, visit } from 'yaml';
import { checkFederation } from './check.ts';
import { formatPath, toProblems, type FederationProblem } from './problems.ts';
import {
  PRIVATE_JWK_MEMBERS,
  agencySchema,
  federationSchema,
  subscriptionRuleSchema,
  type Agency,
  type Federation,
  type SubscriptionRule,
} from './schema.ts';

/** Largest federation file accepted by default, in bytes. */
export const DEFAULT_FEDERATION_MAX_BYTES = 1024 * 1024;

/** At most this many YAML syntax errors are listed (deep nesting yields one per level). */
const MAX_SYNTAX_PROBLEMS = 10;

export interface LoadFederationOptions {
  /** Default {@link DEFAULT_FEDERATION_MAX_BYTES}. */
  maxBytes?: number;
  /** Names the source in error messages, e.g. a file path. */
  source?: string;
}

function fail(source: string | undefined, problems: FederationProblem[], details = {}): never {
  const where = source === undefined ? 'federation' : `federation ${source}`;
  const plural = problems.length === 1 ? 'problem' : 'problems';
  throw new MosaicError(
    ErrorCode.Federation,
    `${where} is invalid (${problems.length} ${plural}):\n${problems.map((p) => `  ${p.path}: ${p.message}`).join('\n')}`,
    { details: { ...details, ...(source === undefined ? {} : { source }), problems } },
  );
}

/** YAML text to plain data: one document, core schema, no tags, anchors or repeated keys. */
function parseYaml(text: string): { value: unknown; problems: FederationProblem[] } {
  const lines = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter: lines,
    version: '1.2',
    schema: 'core',
    customTags: [],
    merge: false,
    uniqueKeys: true,
    strict: true,
    prettyErrors: true,
  });
  const position = (pos: { linePos?: [{ line: number; col: number }, ...unknown[]] }): string =>
    pos.linePos === undefined
      ? '(yaml)'
      : `line ${pos.linePos[0].line}, column ${pos.linePos[0].col}`;
  const firstLine = (message: string): string => message.split('\n')[0] ?? message;
  const problems: FederationProblem[] = [...doc.errors, ...doc.warnings]
    .slice(0, MAX_SYNTAX_PROBLEMS)
    .map((e) => ({ path: position(e), message: firstLine(e.message) }));
  if (problems.length > 0) return { value: undefined, problems };

  const at = (range: readonly number[] | null | undefined): string => {
    if (range?.[0] === undefined) return '(yaml)';
    const { line, col } = lines.linePos(range[0]);
    return `line ${line}, column ${col}`;
  };
  visit(doc, (_key, node) => {
    if (isAlias(node)) {
      problems.push({ path: at(node.range), message: `aliases (*${node.source}) are not allowed` });
    } else if (isNode(node)) {
      if (node.anchor !== undefined)
        problems.push({
          path: at(node.range),
          message: `anchors (&${node.anchor}) are not allowed`,
        });
      if (node.tag !== undefined)
        problems.push({ path: at(node.range), message: `tags (${node.tag}) are not allowed` });
    }
  });
  if (problems.length > 0) return { value: undefined, problems };
  return { value: doc.toJS({ maxAliasCount: 0 }), problems };
}

/** Finds private key material wherever a public key belongs, before anything else runs. */
function privateKeyProblems(value: unknown): FederationProblem[] {
  const problems: FederationProblem[] = [];
  const agencies = (value as { agencies?: unknown } | null)?.agencies;
  if (!Array.isArray(agencies)) return problems;
  agencies.forEach((agency: unknown, a) => {
    const keys = (agency as { keys?: unknown } | null)?.keys;
    if (!Array.isArray(keys)) return;
    keys.forEach((key: unknown, k) => {
      const jwk = (key as { publicJwk?: unknown } | null)?.publicJwk;
      if (typeof jwk !== 'object' || jwk === null) return;
      const members = PRIVATE_JWK_MEMBERS.filter((m) => Object.hasOwn(jwk, m));
      if (members.length > 0)
        problems.push({
          path: formatPath(['agencies', a, 'keys', k, 'publicJwk']),
          message: `holds a PRIVATE key (member ${members.join(', ')}). Remove it: the federation file is shared with every operator and agency, so treat this key as compromised and rotate it`,
        });
    });
  });
  return problems;
}

/**
 * Parses and validates a federation file's text (YAML; JSON is YAML too): syntax, then
 * the strict schema, then cross-checks. Throws ERR_FEDERATION listing every problem with
 * its path.
 *
 * @example
 * ```ts
 * const federation = parseFederation(await readFile('federation.yaml', 'utf8'));
 * federation.agencies.map((a) => a.id); // ['nl-police', 'de-bka', …]
 * ```
 */
export function parseFederation(text: string, options: LoadFederationOptions = {}): Federation {
  const maxBytes = options.maxBytes ?? DEFAULT_FEDERATION_MAX_BYTES;
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > maxBytes)
    fail(
      options.source,
      [{ path: '(file)', message: `is ${bytes} bytes, more than the limit of ${maxBytes}` }],
      {
        limit: maxBytes,
      },
    );
  const { value, problems: syntax } = parseYaml(text);
  if (syntax.length > 0) fail(options.source, syntax);

  const secrets = privateKeyProblems(value);
  const parsed = federationSchema.safeParse(value);
  if (!parsed.success) {
    const flagged = new Set(secrets.map((p) => p.path));
    const issues = toProblems(parsed.error.issues)
      // The loud private-key message replaces zod's "unrecognized key" for the same JWK.
      .filter((p) => !flagged.has(p.path));
    fail(options.source, [...secrets, ...issues]);
  }
  if (secrets.length > 0) fail(options.source, secrets);
  const problems = checkFederation(parsed.data);
  if (problems.length > 0) fail(options.source, problems);
  return parsed.data;
}

async function readBytes(path: string, maxBytes: number): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    // Refuse before reading; the text check below still catches a file that grew.
    if (size > maxBytes)
      return fail(
        path,
        [{ path: '(file)', message: `is ${size} bytes, more than the limit of ${maxBytes}` }],
        {
          limit: maxBytes,
        },
      );
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

async function readLimited(path: string, maxBytes: number): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readBytes(path, maxBytes);
  } catch (err) {
    if (isMosaicError(err)) throw err;
    throw new MosaicError(ErrorCode.Io, `cannot read federation file ${path}`, {
      details: { path },
      cause: err,
    });
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
    return fail(path, [{ path: '(file)', message: 'is not valid UTF-8' }]);
  }
}

/**
 * Loads a federation from a file (`{ path }`) or from text (`{ text }`); see
 * {@link parseFederation}. Throws ERR_IO when the file cannot be opened.
 *
 * @example
 * ```ts
 * const federation = await loadFederation({ path: 'deploy/federation.example.yaml' });
 * ```
 */
export async function loadFederation(
  input: { path: string } | { text: string },
  options: LoadFederationOptions = {},
): Promise<Federation> {
  if ('text' in input) return parseFederation(input.text, options);
  const maxBytes = options.maxBytes ?? DEFAULT_FEDERATION_MAX_BYTES;
  const text = await readLimited(input.path, maxBytes);
  return parseFederation(text, { ...options, maxBytes, source: options.source ?? input.path });
}

/**
 * Parses one agency entry (YAML or JSON, as in a federation file's `agencies` list), e.g.
 * for `mosaic agency add`. Same safe YAML rules and strict schema as a federation file;
 * checks against the rest of a federation are the caller's. Throws ERR_FEDERATION.
 *
 * @example
 * ```ts
 * const agency = parseAgency(await readFile('be-police.yaml', 'utf8'), { source: 'be-police.yaml' });
 * ```
 */
export function parseAgency(text: string, options: LoadFederationOptions = {}): Agency {
  const where = options.source === undefined ? 'agency' : `agency ${options.source}`;
  const failAgency = (problems: FederationProblem[]): never => {
    throw new MosaicError(
      ErrorCode.Federation,
      `${where} is invalid:\n${problems.map((p) => `  ${p.path}: ${p.message}`).join('\n')}`,
      {
        details: { ...(options.source === undefined ? {} : { source: options.source }), problems },
      },
    );
  };
  const maxBytes = options.maxBytes ?? DEFAULT_FEDERATION_MAX_BYTES;
  if (Buffer.byteLength(text, 'utf8') > maxBytes)
    failAgency([{ path: '(file)', message: `is more than the limit of ${maxBytes} bytes` }]);
  const { value, problems: syntax } = parseYaml(text);
  if (syntax.length > 0) failAgency(syntax);
  const secrets = privateKeyProblems({ agencies: [value] }).map((p) => ({
    ...p,
    path: p.path.replace(/^agencies\[0\]\.?/, ''),
  }));
  if (secrets.length > 0) failAgency(secrets);
  const parsed = agencySchema.safeParse(value);
  if (!parsed.success) failAgency(toProblems(parsed.error.issues));
  return parsed.data as Agency;
}

/** The most subscription rules an agency may have (as `agencySchema` allows). */
const MAX_SUBSCRIPTION_RULES = 64;

/**
 * Parses an agency's subscription rules from YAML or JSON text: a list of rules, or an
 * object whose only key is `subscriptions` (the shape of a federation file's agency entry).
 * Each rule is validated with `subscriptionRuleSchema`; throws ERR_FEDERATION listing every
 * problem. Cross-checks against a federation (known groups) are the caller's.
 *
 * @example
 * ```ts
 * const rules = parseSubscriptionRules(await readFile('rules.yaml', 'utf8'), { source: 'rules.yaml' });
 * ```
 */
export function parseSubscriptionRules(
  text: string,
  options: LoadFederationOptions = {},
): SubscriptionRule[] {
  const where = options.source === undefined ? 'subscription rules' : `rules ${options.source}`;
  const failRules = (problems: FederationProblem[]): never => {
    throw new MosaicError(
      ErrorCode.Federation,
      `${where} are invalid:\n${problems.map((p) => `  ${p.path}: ${p.message}`).join('\n')}`,
      {
        details: { ...(options.source === undefined ? {} : { source: options.source }), problems },
      },
    );
  };
  const maxBytes = options.maxBytes ?? DEFAULT_FEDERATION_MAX_BYTES;
  if (Buffer.byteLength(text, 'utf8') > maxBytes)
    failRules([{ path: '(file)', message: `is more than the limit of ${maxBytes} bytes` }]);
  const { value, problems: syntax } = parseYaml(text);
  if (syntax.length > 0) failRules(syntax);
  const wrapped =
    typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  if (wrapped !== undefined && Object.keys(wrapped).some((k) => k !== 'subscriptions'))
    failRules([{ path: '(file)', message: 'must be a list of rules or { subscriptions: [...] }' }]);
  const list = wrapped === undefined ? value : wrapped['subscriptions'];
  const parsed = subscriptionRuleSchema.array().max(MAX_SUBSCRIPTION_RULES).safeParse(list);
  if (!parsed.success) failRules(toProblems(parsed.error.issues));
  return parsed.data as SubscriptionRule[];
}
