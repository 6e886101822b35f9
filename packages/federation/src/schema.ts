import {
  Category,
  E164_PATTERN,
  IndicatorType,
  SourceReliability,
  Tlp,
  agencyIdSchema,
  countryCodeSchema,
  jurisdictionGroupSchema,
  jurisdictionSchema,
  timestampSchema,
} from '@mosaic/contract';
import { z } from 'zod';

/** What kind of organisation an agency is. */
export const AgencyKind = {
  Police: 'police',
  Border: 'border',
  Prosecution: 'prosecution',
  Ngo: 'ngo',
  Other: 'other',
} as const;
export type AgencyKind = (typeof AgencyKind)[keyof typeof AgencyKind];

/** Members of a JWK that only a private or symmetric key has. */
export const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

/** Key id: the part of a `kid` after `<agency>/` (the signing package's rule). */
export const KEY_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** Single-line text: no control characters or line breaks. */
function lineText(max: number) {
  return z
    .string()
    .min(1)
    .max(max)
    .regex(/^[^\p{Cc}\u2028\u2029]*$/u, {
      message: 'must not contain control characters or line breaks',
    });
}

/** An array of 1..max items (uniqueness is a cross-check, reported with its path). */
function list<T extends z.ZodType>(item: T, max: number) {
  return z.array(item).min(1).max(max);
}

/** An Ed25519 public key as a JWK (RFC 8037). Private members are refused. */
export const publicJwkSchema = z
  .strictObject({
    kty: z.literal('OKP'),
    crv: z.literal('Ed25519'),
    // 32 bytes in canonical unpadded base64url: 43 characters, the last with 2 zero bits.
    x: z.string().regex(/^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/, {
      message: 'must be a 32-byte public key in unpadded base64url',
    }),
    kid: z.string().max(130).exactOptional(),
    alg: z.enum(['EdDSA', 'Ed25519']).exactOptional(),
    use: z.literal('sig').exactOptional(),
    key_ops: z.tuple([z.literal('verify')]).exactOptional(),
  })
  .meta({ description: 'Ed25519 public key (OKP JWK). Never a private key: no "d".' });

export const agencyKeySchema = z
  .strictObject({
    keyId: z.string().regex(KEY_ID_PATTERN, {
      message: 'must be 1–64 letters, digits, "_" or "-"',
    }),
    publicJwk: publicJwkSchema,
    notBefore: timestampSchema.optional(),
    notAfter: timestampSchema.optional(),
    revokedAt: timestampSchema.optional(),
    revocationReason: lineText(500)
      .optional()
      .meta({ description: 'Why the key was revoked (set by `mosaic keys revoke`).' }),
  })
  .meta({
    description:
      'A signing key of the agency; its kid is "<agency>/<keyId>". Valid from notBefore (inclusive) to notAfter (exclusive) unless revoked.',
  });

export const contactSchema = z.strictObject({
  email: z.email({ message: 'must be an e-mail address' }).max(254),
  name: lineText(200).optional(),
  phone: z
    .string()
    .regex(E164_PATTERN, { message: 'must be an E.164 number, e.g. +31201234567' })
    .optional(),
  url: z
    .url({ protocol: /^https$/, message: 'must be an https URL' })
    .max(2048)
    .optional(),
});

/**
 * What an agency wants to receive. A report matches when every given condition holds;
 * grades name the worst still accepted (source reliability A best … F, credibility 1 best
 * … 6), `maxTlp` the most restrictive TLP label accepted.
 */
export const subscriptionRuleSchema = z.strictObject({
  name: lineText(100).optional(),
  jurisdictions: list(jurisdictionSchema, 64),
  categories: list(z.enum(Category), 32),
  indicatorTypes: list(z.enum(IndicatorType), 32).optional(),
  minSourceReliability: z.enum(SourceReliability).optional(),
  minInformationCredibility: z.int().min(1).max(6).optional(),
  minConfidence: z.int().min(0).max(100).optional(),
  maxTlp: z.enum(Tlp),
});

/**
 * Whom a hit on the agency's private holdings may name it to. A check that matches one of
 * its holdings always notifies the agency; the asker learns the agency's name only when it
 * is listed here. Absent, or an agency not listed (or not in the registry): not named.
 */
const hitPolicySchema = z.strictObject({
  nameTo: list(agencyIdSchema, 1024).meta({
    description: 'Agencies told which agency holds a selector they check.',
  }),
});

export const agencySchema = z.strictObject({
  id: agencyIdSchema,
  name: lineText(200),
  kind: z.enum(AgencyKind),
  jurisdictions: list(jurisdictionSchema, 64).meta({
    description: 'The jurisdictions the agency may report for.',
  }),
  contact: contactSchema,
  keys: z.array(agencyKeySchema).max(64).default([]).meta({
    description: 'Public signing keys. An agency without keys can receive but not publish.',
  }),
  subscriptions: z.array(subscriptionRuleSchema).max(64).default([]),
  hitPolicy: hitPolicySchema.optional(),
});

export const jurisdictionGroupDefinitionSchema = z.strictObject({
  id: jurisdictionGroupSchema,
  name: lineText(200),
  members: list(countryCodeSchema, 249),
});

/** A sharing agreement: `from` releases to `to`, optionally only some categories and TLPs. */
export const agreementSchema = z.strictObject({
  from: agencyIdSchema,
  to: z.union([agencyIdSchema, list(agencyIdSchema, 1024)]),
  categories: list(z.enum(Category), 32).optional(),
  maxTlp: z.enum(Tlp).optional(),
  note: lineText(500).optional(),
});

/** The federation file, version 1. Strict: unknown keys are refused at every level. */
export const federationSchema = z.strictObject({
  version: z.literal(1),
  name: lineText(200).optional(),
  groups: z.array(jurisdictionGroupDefinitionSchema).max(256).default([]),
  agencies: list(agencySchema, 10_000),
  agreements: z.array(agreementSchema).max(10_000).default([]),
});

export type Federation = z.output<typeof federationSchema>;
export type FederationInput = z.input<typeof federationSchema>;
export type Agency = Federation['agencies'][number];
export type AgencyKey = Agency['keys'][number];
export type PublicJwk = AgencyKey['publicJwk'];
export type Contact = Agency['contact'];
export type SubscriptionRule = Agency['subscriptions'][number];
export type HitPolicy = NonNullable<Agency['hitPolicy']>;
export type JurisdictionGroup = Federation['groups'][number];
export type Agreement = Federation['agreements'][number];

/** The agencies an agreement releases to, as a list. */
export function agreementRecipients(agreement: Agreement): readonly string[] {
  return typeof agreement.to === 'string' ? [agreement.to] : agreement.to;
}
