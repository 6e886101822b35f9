import { z } from 'zod';

/** What an audit entry records, one per decision (Law Enforcement Directive Art. 25 duties). */
export const AUDIT_ACTIONS = [
  'report.accepted',
  'report.rejected',
  'alert.disclosed',
  'alert.consulted',
  'report.retracted',
  'registry.changed',
  'operator.replay',
  'operator.export',
  'admin.api',
  'selectors.evaluated',
  'gateway.token.issued',
  'gateway.token.revoked',
  'holdings.registered',
  'holdings.withdrawn',
  'holdings.checked',
  'holdings.hit',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** `admin`: the break-glass identity, recorded from the broker's JetStream API advisories. */
export const ACTOR_KINDS = ['agency', 'service', 'operator', 'admin'] as const;
export type ActorKind = (typeof ACTOR_KINDS)[number];

/** Lower-case hex SHA-256, as `prev` and `subject.contentHash` carry it. */
export const SHA256_HEX_PATTERN = /^[0-9a-f]{64}$/;

// No control or invisible formatting characters in identifiers, so two ids cannot look alike.
const identifier = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+$/u, { message: 'control or formatting character' });
const sha256Hex = z.string().regex(SHA256_HEX_PATTERN, { message: 'lower-case hex SHA-256' });

/**
 * One audit entry (version 1), strict. `prev` is the lower-case hex leaf hash of the
 * previous entry's stored bytes (absent only on the first entry): a hash chain that lets
 * `verifyAuditLog` name the exact entry that was altered or reordered. `recovered: true`
 * marks an entry the auditor reconstructed at start-up from what REPORTS / ALERTS hold
 * after a crash lost the original one. A justification is
 * required when the actor is an operator or the action is an operator action.
 */
export const auditEntrySchema = z
  .strictObject({
    v: z.literal(1),
    time: z.iso.datetime({ message: 'RFC 3339 UTC time ending in Z' }),
    actor: z.strictObject({ kind: z.enum(ACTOR_KINDS), id: identifier }),
    action: z.enum(AUDIT_ACTIONS),
    subject: z
      .strictObject({
        reportId: identifier.optional(),
        issuer: identifier.optional(),
        contentHash: sha256Hex.optional(),
      })
      .optional(),
    recipients: z
      .array(z.strictObject({ agency: identifier, reason: z.json().optional() }))
      .max(10_000)
      .optional(),
    justification: z.string().trim().min(1).max(4096).optional(),
    refs: z
      .array(
        z.strictObject({
          stream: identifier,
          seq: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
        }),
      )
      .max(10_000)
      .optional(),
    details: z.record(z.string(), z.json()).optional(),
    prev: sha256Hex.optional(),
    /**
     * Written by the auditor's start-up reconciliation for a decision whose own entry was
     * lost in a crash (the report or alert is stored, its entry is not). Absent otherwise.
     */
    recovered: z.literal(true).optional(),
  })
  .superRefine((entry, ctx) => {
    const operatorAction = entry.action === 'operator.replay' || entry.action === 'operator.export';
    if ((entry.actor.kind === 'operator' || operatorAction) && entry.justification === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['justification'],
        message: 'an operator action needs a justification',
      });
  });

/** A decoded audit entry. */
export type AuditEntry = z.infer<typeof auditEntrySchema>;
