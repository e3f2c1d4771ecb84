// A document as another generator would build it, the merge a user would write, and a real OpenAPI 3.1 validator.
import { expect } from 'chai';
import { Validator } from '@seriousme/openapi-schema-validator';
import type { OpenApiSecurityFragment } from '../../lib/index.js';

type Operation = Record<string, unknown>;
export type Document = { openapi: string; info: object; paths: Record<string, Record<string, Operation>>; components?: Record<string, Record<string, unknown>> };

/** A minimal OpenAPI 3.1 document with one operation per path and method given. */
export function generatedDocument(operations: Record<string, string[]>): Document {
  const paths: Document['paths'] = {};
  for (const [path, methods] of Object.entries(operations)) {
    const parameters = [...path.matchAll(/\{([^}]+)\}/g)].map(([, name]) => ({ name, in: 'path', required: true, schema: { type: 'string' } }));
    paths[path] = Object.fromEntries(methods.map((m) => [m, { parameters, responses: { 200: { description: 'ok' } } }]));
  }
  return { openapi: '3.1.0', info: { title: 'spec', version: '1.0.0' }, paths };
}

/** Merges the fragment into a document: the security schemes, and each operation's security. */
export function merge(document: Document, fragment: OpenApiSecurityFragment): Document {
  const merged = structuredClone(document);
  merged.components = { ...merged.components, securitySchemes: { ...merged.components?.securitySchemes, ...fragment.components.securitySchemes } };
  for (const [path, item] of Object.entries(fragment.paths)) {
    for (const [method, security] of Object.entries(item)) {
      const operation = merged.paths[path]?.[method];
      if (operation === undefined) throw new Error(`the generated document has no ${method} ${path}`);
      Object.assign(operation, structuredClone(security));
    }
  }
  return merged;
}

const validator = new Validator();

/** Fails unless the document is valid OpenAPI 3.1 and every security requirement names a declared scheme. */
export async function expectValid(document: Document): Promise<void> {
  const result = await validator.validate(structuredClone(document));
  expect(result.errors ?? [], JSON.stringify(result.errors)).to.deep.equal([]);
  expect(result.valid).to.equal(true);
  const schemes = Object.keys(document.components?.securitySchemes ?? {});
  for (const item of Object.values(document.paths)) {
    for (const operation of Object.values(item)) {
      for (const requirement of (operation.security ?? []) as Array<Record<string, string[]>>) expect(schemes).to.include.members(Object.keys(requirement));
    }
  }
}
