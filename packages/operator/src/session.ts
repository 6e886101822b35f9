import { userInfo } from 'node:os';
import {
  auditClient,
  type AuditClient,
  type AuditRequestOf,
  REGISTRY_BUCKET,
  REGISTRY_STREAM,
  RegistryKeys,
  readRegistry,
  registryKeysByDirectGet,
  HUB_API_PREFIX,
  type ReadRegistryOptions,
} from '@mosaic/protocol';
import { timestampSchema } from '@mosaic/contract';
import { ErrorCode, MosaicError, isMosaicError } from '@mosaic/errors';
import {
  Roles,
  contextConnectOptions,
  readContextFile,
  type NatsContext,
} from '@mosaic/identities';
import {
  agencySchema,
  agreementSchema,
  checkFederation,
  federationSchema,
  publicJwkSchema,
  toProblems,
  type Agency,
  type AgencyKey,
  type Agreement,
  type Federation,
} from '@mosaic/federation';
import { readPublicKeyFile } from '@mosaic/signing';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';

/** A registry change written; `revision` is the KV revision that holds it. */
export interface RegistryChange {
  agency: Agency;
  revision: number;
}

/**
 * A sharing agreement of the registry: `id` names its entry (`agreement.<id>`), `index` is
 * its position among the agreements, the number routing reasons give (`agreement: <index>`).
 */
export interface RegistryAgreement {
  id: number;
  index: number;
  agreement: Agreement;
}

/** What an operator action's audit entry carries besides its action. */
export interface OperatorAudit {
  /** Why (Art. 25 LED): required for every change and every replay or export. */
  justification: string;
  refs?: { stream: string; seq: number }[];
  details?: Record<string, unknown>;
}

/**
 * Registry administration with the operator identity. Dispose it to disconnect. Every
 * change takes a `justification` and is recorded as a `registry.changed` audit entry
 * (after the change, with its registry revision); without one it is refused (ERR_USAGE).
 */
export interface OperatorSession extends AsyncDisposable {
  readonly context: NatsContext;
  /** The operator's connection. */
  readonly nc: NatsConnection;
  /** The hub's JetStream API as the operator's account reaches it (reads only). */
  readonly jsm: JetStreamManager;
  /** Records an operator action (replay, export, gateway token change) in AUDIT. */
  record(
    action:
      'operator.replay' | 'operator.export' | 'gateway.token.issued' | 'gateway.token.revoked',
    audit: OperatorAudit,
  ): Promise<number>;
  /** The whole registry, validated. */
  federation(): Promise<Federation>;
  /** One agency; ERR_AGENCY_UNKNOWN when there is none with that id. */
  agency(id: string): Promise<Agency>;
  /** Adds an agency (validated like a federation file entry, cross-checked with the registry). */
  addAgency(input: unknown, options?: { justification?: string }): Promise<RegistryChange>;
  /** Adds a public key; with `retireOldAt`, the agency's other keys end (`notAfter`) then. */
  rotateKey(options: {
    agency: string;
    publicKeyFile: string;
    retireOldAt?: string;
    justification?: string;
  }): Promise<RegistryChange & { keyId: string; retired: string[] }>;
  /**
   * Replaces the agency's subscription rules (validated with `subscriptionRuleSchema` and
   * checked with the registry: known groups). Reports routed afterwards use them; alerts
   * already routed stay as they are.
   */
  setRules(options: {
    agency: string;
    rules: unknown;
    justification?: string;
  }): Promise<RegistryChange>;
  /**
   * Removes an agency from the registry: the hub then revokes its broker account (its
   * clients are disconnected) and deletes its context; its public keys stay in the
   * public-keys projection, retired (revoked at the removal), so its stored reports stay
   * verifiable. Refused (ERR_FEDERATION) while an agreement names it.
   */
  removeAgency(id: string, options?: { justification?: string }): Promise<RegistryChange>;
  /** The sharing agreements, in routing order. */
  agreements(): Promise<RegistryAgreement[]>;
  /**
   * Adds a sharing agreement (validated like a federation file's, checked with the registry:
   * known agencies, no agreement with oneself). Reports routed afterwards use it.
   */
  addAgreement(
    input: unknown,
    options?: { justification?: string },
  ): Promise<{ id: number; agreement: Agreement; revision: number }>;
  /** Removes the agreement with entry `id`; reports routed afterwards no longer use it. */
  removeAgreement(
    id: number,
    options?: { justification?: string },
  ): Promise<{ id: number; agreement: Agreement; revision: number }>;
  /** Marks a key revoked from `at` (default now) with a reason (the default justification). */
  revokeKey(options: {
    agency: string;
    keyId: string;
    at?: string;
    reason: string;
    justification?: string;
  }): Promise<RegistryChange>;
  close(): Promise<void>;
}

/** How often a change is re-read and re-applied when a concurrent change won the race. */
const MAX_ATTEMPTS = 5;
/** KV `update`/`create` lost: the entry is not at the revision that was read. */
const WRONG_LAST_SEQUENCE = 10071;

function permissionViolation(err: unknown): { subject?: string } | undefined {
  for (let e = err; e instanceof Error; e = e.cause)
    if (e.name === 'PermissionViolationError') return e as { subject?: string };
  return undefined;
}

function isConflict(err: unknown): boolean {
  for (let e = err; e instanceof Error; e = e.cause)
    if ('code' in e && e.code === WRONG_LAST_SEQUENCE) return true;
  return false;
}

/**
 * Maps broker failures to stable codes: a permission violation to ERR_PERMISSION_DENIED
 * (the context is not the operator's), an unreachable server to ERR_UNAVAILABLE.
 */
function brokerError(err: unknown, context: NatsContext, path: string): unknown {
  if (isMosaicError(err)) return err;
  const violation = permissionViolation(err);
  if (violation !== undefined) {
    const who =
      context.role === Roles.Agency
        ? `agency ${String(context.agency)}'s identity`
        : `the ${context.role} identity`;
    return new MosaicError(
      ErrorCode.PermissionDenied,
      `the broker refused this to ${who} (${path}); registry changes need the operator context, <data-dir>/contexts/operator.json`,
      { details: { subject: violation.subject, role: context.role }, cause: err },
    );
  }
  return new MosaicError(
    ErrorCode.Unavailable,
    `cannot reach the hub at ${context.url}: ${(err as Error).message}`,
    { details: { url: context.url }, cause: err },
  );
}

/** Parses a time option: RFC 3339, or `now`. */
export function parseTime(value: string | undefined, name: string, now = new Date()): string {
  // Milliseconds kept: a report stored a moment before a revocation "now" stays before it.
  if (value === undefined || value === 'now') return now.toISOString();
  const parsed = timestampSchema.safeParse(value);
  if (!parsed.success)
    throw new MosaicError(
      ErrorCode.Usage,
      `${name} must be an RFC 3339 time such as 2026-01-31T12:00:00Z, or "now"`,
      { details: { value } },
    );
  return parsed.data;
}

function invalid(message: string, problems: { path: string; message: string }[]): MosaicError {
  return new MosaicError(
    ErrorCode.Federation,
    `${message}:\n${problems.map((p) => `  ${p.path}: ${p.message}`).join('\n')}`,
    { details: { problems } },
  );
}

/** The federation with `agency` in place of (or added to) its namesake, checked as a whole. */
function checkedWith(federation: Federation, agency: Agency): Federation {
  const agencies = federation.agencies.filter((a) => a.id !== agency.id).concat(agency);
  return checkedAs({ ...federation, agencies });
}

/** A changed federation, validated and checked as a whole like a federation file. */
function checkedAs(changed: unknown): Federation {
  const parsed = federationSchema.safeParse(changed);
  if (!parsed.success)
    throw invalid('the change would make the registry invalid', toProblems(parsed.error.issues));
  const problems = checkFederation(parsed.data);
  if (problems.length > 0) throw invalid('the change conflicts with the registry', problems);
  return parsed.data;
}

/** Operator actions are refused without a reason (LED Art. 25: justification). */
function requireJustification(value: string | undefined): string {
  if (value === undefined || value.trim() === '')
    throw new MosaicError(
      ErrorCode.Usage,
      'a justification is required for every operator action (--reason "<why>")',
    );
  return value;
}

/** Who runs the operator command on this machine, for the entry's actor. */
function operatorName(): string {
  try {
    return `operator:${userInfo().username}`;
  } catch (err) {
    if (err instanceof Error && 'code' in err) return 'operator';
    throw err;
  }
}

/** An array as an async iterable (what `RegistryKv.keys` returns). */
function asyncIterable<T>(items: readonly T[]): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator]: () => {
      let i = 0;
      return {
        next: () =>
          Promise.resolve(
            i < items.length
              ? { done: false, value: items[i++] as T }
              : { done: true, value: undefined },
          ),
      };
    },
  };
}

class Session implements OperatorSession {
  readonly context: NatsContext;
  readonly #path: string;
  readonly #nc: NatsConnection;
  readonly #kv: KV;
  readonly #jsm: JetStreamManager;
  readonly #audit: AuditClient<'operator'>;

  constructor(
    context: NatsContext,
    path: string,
    nc: NatsConnection,
    kv: KV,
    jsm: JetStreamManager,
  ) {
    this.context = context;
    this.#path = path;
    this.#nc = nc;
    this.#kv = kv;
    this.#jsm = jsm;
    this.#audit = auditClient(nc, 'operator');
  }

  get nc(): NatsConnection {
    return this.#nc;
  }

  get jsm(): JetStreamManager {
    return this.#jsm;
  }

  record(
    action:
      | 'operator.replay'
      | 'operator.export'
      | 'registry.changed'
      | 'gateway.token.issued'
      | 'gateway.token.revoked',
    audit: OperatorAudit,
  ): Promise<number> {
    const justification = requireJustification(audit.justification);
    const entry: AuditRequestOf<'operator'> = {
      actor: { kind: 'operator', id: operatorName() },
      action,
      justification,
      ...(audit.refs === undefined ? {} : { refs: audit.refs }),
      ...(audit.details === undefined ? {} : { details: audit.details }),
    };
    return this.#audit.record(entry).then((r) => r.seq);
  }

  /** Records a registry change written at `change.revision`. */
  async #recorded<T extends RegistryChange>(
    change: T,
    justification: string,
    details: Record<string, unknown>,
  ): Promise<T> {
    await this.record('registry.changed', {
      justification,
      refs: [{ stream: REGISTRY_STREAM, seq: change.revision }],
      details: { agency: change.agency.id, ...details },
    });
    return change;
  }

  async #broker<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      throw brokerError(err, this.context, this.#path);
    }
  }

  federation(): Promise<Federation> {
    return this.#read();
  }

  /**
   * The registry as a change builds on: a bad entry (reported by the hub's live view) is left
   * out, so that it cannot block a revocation or any other change.
   */
  #base(): Promise<Federation> {
    return this.#read({ onInvalidEntry: () => undefined });
  }

  #read(options: ReadRegistryOptions = {}): Promise<Federation> {
    return this.#broker(async () => {
      // kv.keys() would create a consumer, which the operator's account cannot.
      const keys = await registryKeysByDirectGet(this.#jsm);
      return readRegistry(
        {
          put: (k, v) => this.#kv.put(k, v),
          get: (k) => this.#kv.get(k),
          delete: (k) => this.#kv.delete(k),
          keys: () => Promise.resolve(asyncIterable(keys)),
        },
        options,
      );
    });
  }

  async agency(id: string): Promise<Agency> {
    const agency = (await this.federation()).agencies.find((a) => a.id === id);
    if (agency === undefined)
      throw new MosaicError(ErrorCode.AgencyUnknown, `the registry has no agency ${id}`, {
        details: { agency: id },
      });
    return agency;
  }

  /**
   * Reads the registry, applies `change` to one agency and writes it back only if nobody
   * changed that entry in between (KV update with the revision read); retries otherwise.
   */
  async #modify(
    id: string,
    change: (agency: Agency, federation: Federation) => Agency,
  ): Promise<RegistryChange> {
    for (let attempt = 1; ; attempt++) {
      const federation = await this.#base();
      const entry = await this.#broker(() => this.#kv.get(RegistryKeys.agency(id)));
      const current = federation.agencies.find((a) => a.id === id);
      if (entry === null || entry.operation !== 'PUT' || current === undefined)
        throw new MosaicError(ErrorCode.AgencyUnknown, `the registry has no agency ${id}`, {
          details: { agency: id },
        });
      const next = change(current, federation);
      const checked = checkedWith(federation, next).agencies.find((a) => a.id === id) ?? next;
      try {
        const revision = await this.#kv.update(
          RegistryKeys.agency(id),
          JSON.stringify(checked),
          entry.revision,
        );
        return { agency: checked, revision };
      } catch (err) {
        if (!isConflict(err)) throw brokerError(err, this.context, this.#path);
        if (attempt >= MAX_ATTEMPTS)
          throw new MosaicError(
            ErrorCode.RegistryConflict,
            `agency ${id} kept changing while this change was applied (${attempt} attempts)`,
            { details: { agency: id, attempts: attempt }, cause: err },
          );
      }
    }
  }

  async addAgency(
    input: unknown,
    options: { justification?: string } = {},
  ): Promise<RegistryChange> {
    const justification = requireJustification(options.justification);
    const parsed = agencySchema.safeParse(input);
    if (!parsed.success) throw invalid('not a valid agency', toProblems(parsed.error.issues));
    const agency = parsed.data;
    const federation = await this.#base();
    if (federation.agencies.some((a) => a.id === agency.id))
      throw invalid('not added', [{ path: 'id', message: `agency ${agency.id} already exists` }]);
    const checked = checkedWith(federation, agency).agencies.find((a) => a.id === agency.id);
    let change: RegistryChange;
    try {
      // create() fails when the key exists: two concurrent adds cannot both win.
      const revision = await this.#kv.create(
        RegistryKeys.agency(agency.id),
        JSON.stringify(checked ?? agency),
      );
      change = { agency: checked ?? agency, revision };
    } catch (err) {
      if (isConflict(err))
        throw invalid('not added', [{ path: 'id', message: `agency ${agency.id} already exists` }]);
      throw brokerError(err, this.context, this.#path);
    }
    return this.#recorded(change, justification, { change: 'agency.add' });
  }

  async rotateKey(options: {
    agency: string;
    publicKeyFile: string;
    retireOldAt?: string;
    justification?: string;
  }): Promise<RegistryChange & { keyId: string; retired: string[] }> {
    const justification = requireJustification(options.justification);
    const lookup = await readPublicKeyFile(options.publicKeyFile);
    const [record, ...more] = lookup.records;
    if (record === undefined || more.length > 0)
      throw new MosaicError(
        ErrorCode.KeyFile,
        `${options.publicKeyFile} must hold exactly one public key`,
        { details: { path: options.publicKeyFile, keys: lookup.records.length } },
      );
    if (record.agency !== options.agency)
      throw new MosaicError(
        ErrorCode.KeyFile,
        `${options.publicKeyFile} is a key of ${record.agency} (kid ${record.kid}), not of ${options.agency}`,
        { details: { path: options.publicKeyFile, kid: record.kid } },
      );
    const publicJwk = publicJwkSchema.parse({
      ...(record.publicJwk as object),
      kid: record.kid,
    });
    const retireAt =
      options.retireOldAt === undefined
        ? undefined
        : parseTime(options.retireOldAt, '--retire-old-at');
    const retired: string[] = [];
    const change = await this.#modify(options.agency, (agency) => {
      if (agency.keys.some((k) => k.keyId === record.keyId))
        throw invalid('key not added', [
          { path: 'keyId', message: `agency ${agency.id} already has a key ${record.keyId}` },
        ]);
      retired.length = 0;
      const keys: AgencyKey[] = agency.keys.map((k) => {
        if (retireAt === undefined || k.revokedAt !== undefined) return k;
        if (k.notAfter !== undefined && Date.parse(k.notAfter) <= Date.parse(retireAt)) return k;
        retired.push(k.keyId);
        return { ...k, notAfter: retireAt };
      });
      return { ...agency, keys: [...keys, { keyId: record.keyId, publicJwk }] };
    });
    return this.#recorded({ ...change, keyId: record.keyId, retired }, justification, {
      change: 'key.rotate',
      keyId: record.keyId,
      retired,
    });
  }

  async setRules(options: {
    agency: string;
    rules: unknown;
    justification?: string;
  }): Promise<RegistryChange> {
    const justification = requireJustification(options.justification);
    const parsed = agencySchema.shape.subscriptions.safeParse(options.rules);
    if (!Array.isArray(options.rules) || !parsed.success)
      throw invalid(
        'not valid subscription rules',
        parsed.success
          ? [{ path: '(root)', message: 'must be a list of subscription rules' }]
          : toProblems(parsed.error.issues),
      );
    const subscriptions = parsed.data;
    const change = await this.#modify(options.agency, (agency) => ({ ...agency, subscriptions }));
    return this.#recorded(change, justification, {
      change: 'rules.set',
      rules: subscriptions.length,
    });
  }

  async revokeKey(options: {
    agency: string;
    keyId: string;
    at?: string;
    reason: string;
    justification?: string;
  }): Promise<RegistryChange> {
    const justification = requireJustification(options.justification ?? options.reason);
    const at = parseTime(options.at, '--at');
    const change = await this.#modify(options.agency, (agency) => {
      if (!agency.keys.some((k) => k.keyId === options.keyId))
        throw new MosaicError(
          ErrorCode.KeyUnknown,
          `agency ${agency.id} has no key ${options.keyId}`,
          { details: { agency: agency.id, keyId: options.keyId } },
        );
      return {
        ...agency,
        keys: agency.keys.map((k) =>
          k.keyId === options.keyId ? { ...k, revokedAt: at, revocationReason: options.reason } : k,
        ),
      };
    });
    return this.#recorded(change, justification, {
      change: 'key.revoke',
      keyId: options.keyId,
      revokedAt: at,
    });
  }

  async removeAgency(
    id: string,
    options: { justification?: string } = {},
  ): Promise<RegistryChange> {
    const justification = requireJustification(options.justification);
    const federation = await this.federation();
    const agency = federation.agencies.find((a) => a.id === id);
    const entry = await this.#broker(() => this.#kv.get(RegistryKeys.agency(id)));
    if (agency === undefined || entry === null || entry.operation !== 'PUT')
      throw new MosaicError(ErrorCode.AgencyUnknown, `the registry has no agency ${id}`, {
        details: { agency: id },
      });
    const naming = (await this.agreements())
      .filter(
        ({ agreement: a }) =>
          a.from === id || (typeof a.to === 'string' ? a.to === id : a.to.includes(id)),
      )
      .map((a) => a.id);
    if (naming.length > 0)
      throw invalid('not removed', [
        {
          path: 'agreements',
          message: `agreements ${naming.join(', ')} name ${id}: remove them first (mosaic agreements remove --id <n>)`,
        },
      ]);
    checkedAs({ ...federation, agencies: federation.agencies.filter((a) => a.id !== id) });
    try {
      // Only the entry as read: a concurrent change to the agency makes this fail.
      await this.#kv.delete(RegistryKeys.agency(id), { previousSeq: entry.revision });
    } catch (err) {
      if (isConflict(err))
        throw new MosaicError(
          ErrorCode.RegistryConflict,
          `agency ${id} changed while it was removed; try again`,
          { details: { agency: id }, cause: err },
        );
      throw brokerError(err, this.context, this.#path);
    }
    const marker = await this.#broker(() => this.#kv.get(RegistryKeys.agency(id)));
    return this.#recorded({ agency, revision: marker?.revision ?? entry.revision }, justification, {
      change: 'agency.remove',
    });
  }

  async agreements(): Promise<RegistryAgreement[]> {
    const keys = await this.#broker(() => registryKeysByDirectGet(this.#jsm));
    const out: RegistryAgreement[] = [];
    for (const key of keys.filter((k) => k.startsWith('agreement.')).sort()) {
      const entry = await this.#broker(() => this.#kv.get(key));
      if (entry === null || entry.operation !== 'PUT') continue;
      out.push({
        id: Number(key.slice('agreement.'.length)),
        index: out.length,
        agreement: agreementSchema.parse(JSON.parse(entry.string())),
      });
    }
    return out;
  }

  async addAgreement(
    input: unknown,
    options: { justification?: string } = {},
  ): Promise<{ id: number; agreement: Agreement; revision: number }> {
    const justification = requireJustification(options.justification);
    const parsed = agreementSchema.safeParse(input);
    if (!parsed.success) throw invalid('not a valid agreement', toProblems(parsed.error.issues));
    for (let attempt = 1; ; attempt++) {
      const federation = await this.federation();
      const checked = checkedAs({
        ...federation,
        agreements: [...federation.agreements, parsed.data],
      });
      const agreement = checked.agreements.at(-1) ?? parsed.data;
      const id = Math.max(0, ...(await this.agreements()).map((a) => a.id + 1));
      try {
        // create() fails when another add took this id first: then read again.
        const revision = await this.#kv.create(
          RegistryKeys.agreement(id),
          JSON.stringify(agreement),
        );
        await this.record('registry.changed', {
          justification,
          refs: [{ stream: REGISTRY_STREAM, seq: revision }],
          details: { change: 'agreement.add', agreement: id, from: agreement.from },
        });
        return { id, agreement, revision };
      } catch (err) {
        if (!isConflict(err)) throw brokerError(err, this.context, this.#path);
        if (attempt >= MAX_ATTEMPTS)
          throw new MosaicError(
            ErrorCode.RegistryConflict,
            `the agreements kept changing while this one was added (${attempt} attempts)`,
            { details: { attempts: attempt }, cause: err },
          );
      }
    }
  }

  async removeAgreement(
    id: number,
    options: { justification?: string } = {},
  ): Promise<{ id: number; agreement: Agreement; revision: number }> {
    const justification = requireJustification(options.justification);
    const key = RegistryKeys.agreement(id);
    const entry =
      Number.isSafeInteger(id) && id >= 0 ? await this.#broker(() => this.#kv.get(key)) : null;
    if (entry === null || entry.operation !== 'PUT')
      throw invalid('not removed', [
        { path: 'id', message: `the registry has no agreement ${id}` },
      ]);
    const agreement = agreementSchema.parse(JSON.parse(entry.string()));
    try {
      // Only the entry as read: a concurrent change to it makes this fail, not vanish.
      await this.#kv.delete(key, { previousSeq: entry.revision });
    } catch (err) {
      if (isConflict(err))
        throw new MosaicError(
          ErrorCode.RegistryConflict,
          `agreement ${id} changed while it was removed; list the agreements and try again`,
          { details: { agreement: id }, cause: err },
        );
      throw brokerError(err, this.context, this.#path);
    }
    const marker = await this.#broker(() => this.#kv.get(key));
    const revision = marker?.revision ?? entry.revision;
    await this.record('registry.changed', {
      justification,
      refs: [{ stream: REGISTRY_STREAM, seq: revision }],
      details: { change: 'agreement.remove', agreement: id, from: agreement.from },
    });
    return { id, agreement, revision };
  }

  close(): Promise<void> {
    return this.#nc.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Connects with a context file (the operator's: `<data-dir>/contexts/operator.json`) for
 * registry administration. Changes apply to the running hub through its live registry
 * view. The broker itself refuses other identities: ERR_PERMISSION_DENIED.
 *
 * @example
 * ```ts
 * await using op = await connectOperator('.mosaic/contexts/operator.json');
 * await op.revokeKey({ agency: 'ro-dicot', keyId: 'demo', reason: 'laptop stolen' });
 * ```
 */
export async function connectOperator(
  contextPath: string,
  options: { timeoutMs?: number } = {},
): Promise<OperatorSession> {
  const context = await readContextFile(contextPath);
  let nc: NatsConnection;
  try {
    nc = await connect({
      ...contextConnectOptions(context),
      timeout: options.timeoutMs ?? 5_000,
      maxReconnectAttempts: 0,
    });
  } catch (err) {
    throw brokerError(err, context, contextPath);
  }
  try {
    // The operator's account reaches the hub's JetStream API under HUB_API_PREFIX only.
    const api = { apiPrefix: HUB_API_PREFIX, timeout: options.timeoutMs ?? 5_000 };
    const kv = await new Kvm(jetstream(nc, api)).open(REGISTRY_BUCKET);
    const jsm = await jetstreamManager(nc, { ...api, checkAPI: false });
    // A first read: a context without the permission fails here, before anything else.
    await kv.get(RegistryKeys.meta);
    return new Session(context, contextPath, nc, kv, jsm);
  } catch (err) {
    await nc.close();
    throw brokerError(err, context, contextPath);
  }
}
