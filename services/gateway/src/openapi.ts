import { ErrorCode } from '@mosaic/errors';
import { HIT_ALERT_KIND, hitAlertSchema } from '@mosaic/protocol';
import { z } from 'zod';

const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.int().min(400).max(599),
    detail: z.string(),
    instance: z.string(),
    code: z.enum(Object.values(ErrorCode) as [string, ...string[]]),
    retryable: z.literal(true).optional(),
    details: z.record(z.string(), z.unknown()).optional(),
  })
  .describe('RFC 9457 problem details with the Mosaic error code.');

const acceptedSchema = z
  .object({
    ok: z.literal(true),
    reportId: z.string(),
    seq: z.int().min(1),
    duplicate: z.boolean(),
  })
  .describe("Ingest's answer to an accepted (or duplicate) report.");

const reportAlertSchema = z
  .object({
    seq: z.int().min(1).describe('ALERTS stream sequence'),
    id: z.string().describe('<issuer>/<reportId>/<recipient>'),
    kind: z.enum(['report', 'retraction', 'supersede']),
    issuer: z.string(),
    reportId: z.string(),
    reason: z.unknown().optional().describe('why the policy released it to this agency'),
    storedAt: z.iso.datetime(),
    jws: z.string().describe("the originator's compact JWS, verbatim"),
  })
  .describe('A report released to the agency (or its supersede or retraction).');

const hitAlertBodySchema = hitAlertSchema.describe(
  "The holdings service's hit body: who checked, and which of the agency's own holdings matched (`named`: whether the asker was told this agency holds it).",
);

const hitAlertHttpSchema = z
  .object({
    seq: z.int().min(1).describe('ALERTS stream sequence'),
    id: z.string().describe('hit/<checkId>/<holder>'),
    kind: z.literal(HIT_ALERT_KIND),
    storedAt: z.iso.datetime(),
    hit: hitAlertBodySchema,
  })
  .describe("Another agency's check matched the agency's own holdings; not a report, no JWS.");

const alertSchema = z
  .discriminatedUnion('kind', [reportAlertSchema, hitAlertHttpSchema])
  .describe('One alert of the agency: a released report, or a hit on its holdings.');

const alertsPageSchema = z
  .object({
    alerts: z.array(alertSchema),
    next: z.string().describe('opaque cursor: pass it as `cursor` to continue'),
  })
  .describe('One page of alerts in ALERTS order.');

/** A component schema: JSON Schema 2020-12 (OpenAPI 3.1's dialect), inlined, no `$schema`. */
function schema(s: z.ZodType): object {
  return Object.fromEntries(
    Object.entries(z.toJSONSchema(s, { target: 'draft-2020-12', io: 'output' })).filter(
      ([key]) => key !== '$schema',
    ),
  );
}

function problems(...statuses: number[]): Record<string, object> {
  return Object.fromEntries(
    statuses.map((status) => [
      String(status),
      {
        description: 'a coded problem',
        content: {
          'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } },
        },
      },
    ]),
  );
}

/**
 * The OpenAPI 3.1 document of the gateway's HTTP API, generated from its zod schemas
 * (`schemas/openapi.json`, served at `/v1/openapi.json`).
 */
export function generateOpenApi(): string {
  const document = {
    openapi: '3.1.0',
    info: {
      title: 'Mosaic HTTP gateway',
      version: '1',
      description:
        'Submit signed reports and read released alerts without a NATS client. Authenticate with an operator-issued token: Bearer, or Basic with the agency id as user.',
    },
    servers: [{ url: 'http://127.0.0.1' }],
    security: [{ bearer: [] }, { basic: [] }],
    paths: {
      '/v1/reports': {
        post: {
          summary: 'Submit a signed report as the authenticated agency',
          requestBody: {
            required: true,
            content: { 'application/jose': { schema: { type: 'string' } } },
          },
          responses: {
            '200': {
              description: 'accepted, or a duplicate of an accepted report',
              content: {
                'application/json': { schema: { $ref: '#/components/schemas/Accepted' } },
              },
            },
            ...problems(400, 401, 403, 409, 413, 415, 422, 429, 500, 503),
          },
        },
      },
      '/v1/alerts': {
        get: {
          summary: "Page through the authenticated agency's alerts in stream order",
          parameters: [
            { name: 'cursor', in: 'query', required: false, schema: { type: 'string' } },
            {
              name: 'limit',
              in: 'query',
              required: false,
              schema: { type: 'integer', minimum: 1, default: 100, description: 'capped at 1000' },
            },
          ],
          responses: {
            '200': {
              description: 'a page; recorded as a consultation when it holds alerts',
              content: {
                'application/json': { schema: { $ref: '#/components/schemas/AlertsPage' } },
              },
            },
            ...problems(400, 401, 429, 500, 503),
          },
        },
      },
      '/v1/openapi.json': {
        get: {
          summary: 'This document',
          security: [],
          responses: { '200': { description: 'the OpenAPI document' } },
        },
      },
    },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer' },
        basic: { type: 'http', scheme: 'basic' },
      },
      schemas: {
        Problem: schema(problemSchema),
        Accepted: schema(acceptedSchema),
        Alert: schema(alertSchema),
        AlertsPage: schema(alertsPageSchema),
      },
    },
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}
