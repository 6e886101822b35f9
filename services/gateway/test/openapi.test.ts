import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { generateOpenApi } from '../src/index.ts';

describe('schemas/openapi.json', () => {
  it('is what the zod schemas generate (stale: npm run schemas)', async () => {
    const committed = await readFile(
      new URL('../../../schemas/openapi.json', import.meta.url),
      'utf8',
    );
    expect(committed).toBe(generateOpenApi());
  });

  it('is an OpenAPI 3.1 document of both endpoints with coded problems', () => {
    const doc = JSON.parse(generateOpenApi()) as {
      openapi: string;
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
      components: { schemas: { Problem: { required: string[] } } };
    };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths['/v1/reports']?.['post']?.responses ?? {})).toContain('401');
    expect(Object.keys(doc.paths['/v1/alerts']?.['get']?.responses ?? {})).toContain('200');
    expect(doc.components.schemas.Problem.required).toContain('code');
  });
});
