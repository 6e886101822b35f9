import { z } from 'zod';
import { indicatorSchema } from './indicators.ts';
import {
  agencyIdSchema,
  jurisdictionSchema,
  multilineText,
  timestampSchema,
  uniqueArray,
  uuidSchema,
} from './primitives.ts';

export const REPORT_SCHEMA_VERSION = '1.0';

/** Traffic Light Protocol 2.0 labels. */
export const Tlp = {
  Clear: 'CLEAR',
  Green: 'GREEN',
  Amber: 'AMBER',
  AmberStrict: 'AMBER+STRICT',
  Red: 'RED',
} as const;
export type Tlp = (typeof Tlp)[keyof typeof Tlp];

export const Category = {
  Recruitment: 'recruitment',
  Transport: 'transport',
  Exploitation: 'exploitation',
  FinancialFlow: 'financial-flow',
  OnlineAdvertising: 'online-advertising',
  DocumentFraud: 'document-fraud',
  Other: 'other',
} as const;
export type Category = (typeof Category)[keyof typeof Category];

/** Admiralty (NATO) source reliability. */
export const SourceReliability = {
  CompletelyReliable: 'A',
  UsuallyReliable: 'B',
  FairlyReliable: 'C',
  NotUsuallyReliable: 'D',
  Unreliable: 'E',
  CannotBeJudged: 'F',
} as const;
export type SourceReliability = (typeof SourceReliability)[keyof typeof SourceReliability];

export const MAX_JURISDICTIONS = 64;
export const MAX_INDICATORS = 256;
export const MAX_NARRATIVE = 4000;

const gradingSchema = z
  .strictObject({
    sourceReliability: z.enum(SourceReliability),
    informationCredibility: z.number().int().min(1).max(6),
    confidence: z.number().int().min(0).max(100),
  })
  .meta({ description: 'Admiralty grading (A–F, 1–6) and a confidence of 0–100.' });

const releaseSchema = z.strictObject({
  jurisdictions: uniqueArray(jurisdictionSchema, MAX_JURISDICTIONS).optional(),
  agencies: uniqueArray(agencyIdSchema, 256).optional(),
});

const handlingSchema = z
  .strictObject({
    tlp: z.enum(Tlp),
    releasableTo: releaseSchema.optional(),
    notReleasableTo: releaseSchema.optional(),
    validFrom: timestampSchema.optional(),
    validUntil: timestampSchema.optional(),
  })
  .superRefine((handling, ctx) => {
    const { validFrom, validUntil, releasableTo, notReleasableTo } = handling;
    if (
      validFrom !== undefined &&
      validUntil !== undefined &&
      !(Date.parse(validUntil) > Date.parse(validFrom))
    )
      ctx.addIssue({
        code: 'custom',
        message: 'validUntil must be after validFrom',
        path: ['validUntil'],
      });
    for (const list of ['jurisdictions', 'agencies'] as const) {
      const allowed = new Set<string>(releasableTo?.[list]);
      notReleasableTo?.[list]?.forEach((entry, index) => {
        if (allowed.has(entry))
          ctx.addIssue({
            code: 'custom',
            message: `${entry} is both releasable and not releasable`,
            path: ['notReleasableTo', list, index],
          });
      });
    }
  });

const lineageSchema = z
  .strictObject({
    supersedes: uniqueArray(uuidSchema, 64).optional(),
    retracts: uuidSchema.optional(),
    relatesTo: uniqueArray(uuidSchema, 64).optional(),
  })
  .refine((lineage) => lineage.retracts === undefined || lineage.supersedes === undefined, {
    message: 'a report may not both retract and supersede',
    path: ['retracts'],
  });

/** The indicator report, version 1.0. Strict: unknown keys are refused at every level. */
export const reportSchema = z
  .strictObject({
    schemaVersion: z.literal(REPORT_SCHEMA_VERSION),
    reportId: uuidSchema,
    issuer: agencyIdSchema,
    issuedAt: timestampSchema,
    origin: jurisdictionSchema,
    jurisdictions: uniqueArray(jurisdictionSchema, MAX_JURISDICTIONS),
    category: z.enum(Category),
    indicators: z.array(indicatorSchema).max(MAX_INDICATORS),
    narrative: multilineText(MAX_NARRATIVE),
    grading: gradingSchema,
    handling: handlingSchema,
    lineage: lineageSchema.optional(),
  })
  .superRefine((report, ctx) => {
    const lineage = report.lineage;
    if (report.indicators.length === 0 && lineage?.retracts === undefined)
      ctx.addIssue({
        code: 'custom',
        message: 'a report needs at least one indicator unless it retracts another',
        path: ['indicators'],
      });
    if (lineage === undefined) return;
    const references = [
      ...(lineage.supersedes ?? []).map((id, i) => ({ id, path: ['supersedes', i] })),
      ...(lineage.relatesTo ?? []).map((id, i) => ({ id, path: ['relatesTo', i] })),
      ...(lineage.retracts === undefined ? [] : [{ id: lineage.retracts, path: ['retracts'] }]),
    ];
    for (const { id, path } of references)
      if (id === report.reportId)
        ctx.addIssue({
          code: 'custom',
          message: 'a report must not reference itself',
          path: ['lineage', ...path],
        });
  });

export type Report = z.infer<typeof reportSchema>;
