import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';

type Json = Record<string, unknown>;

interface Operation {
  responses: Record<string, Json>;
}

interface Route {
  pattern: RegExp;
  template: string;
  operations: Record<string, Operation>;
}

/**
 * Checks an answer of the API against the contract: the status must be documented for the
 * operation, every required header present and valid, and the body of a documented media type and
 * valid against its schema. One instance per spec file, compiled once.
 */
export class SpecValidator {
  private readonly doc: Json;
  private readonly ajv = new Ajv2020({ strict: false, validateSchema: false, allErrors: true });
  private readonly routes: Route[];
  private readonly id: string;

  constructor(file: string) {
    this.doc = parse(readFileSync(file, 'utf8')) as Json;
    this.id = `spec:${file}`;
    (addFormats as unknown as (ajv: Ajv2020) => void)(this.ajv);
    this.ajv.addSchema(this.doc, this.id);
    this.routes = Object.entries(this.doc.paths as Record<string, Json>).map(([template, item]) => ({
      template,
      pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`),
      operations: Object.fromEntries(
        Object.entries(item).filter(([method]) => ['get', 'post', 'patch', 'put', 'delete'].includes(method)),
      ) as Record<string, Operation>,
    }));
  }

  /** The problems found; empty when the answer matches the contract. */
  check(method: string, url: string, status: number, headers: Headers, text: string): string[] {
    const path = new URL(url, 'http://x').pathname;
    const route = this.routes.find((r) => r.pattern.test(path));
    const operation = route?.operations[method.toLowerCase()];
    if (!route || !operation) {
      // Not an operation of the contract: only the catalogued route-not-found problem may answer it.
      return status === 404 ? this.checkBody(`${this.id}#/components/schemas/Problem`, text, `${method} ${path}`) : [`${method} ${path} is not in the spec but answered ${status}`];
    }
    const where = `${method} ${route.template} → ${status}`;
    const key = String(status) in operation.responses ? String(status) : 'default' in operation.responses ? 'default' : undefined;
    if (!key) return [`${where}: status not documented (documented: ${Object.keys(operation.responses).join(', ')})`];
    const pointer = `/paths/${escape(route.template)}/${method.toLowerCase()}/responses/${key}`;
    const [response, responsePointer] = this.resolve(operation.responses[key], pointer);
    const problems: string[] = [];

    for (const [name, header] of Object.entries((response.headers ?? {}) as Record<string, Json>)) {
      const [resolved, headerPointer] = this.resolve(header, `${responsePointer}/headers/${escape(name)}`);
      const value = headers.get(name);
      if (value === null) {
        if (resolved.required) problems.push(`${where}: required header ${name} missing`);
        continue;
      }
      const validate = this.ajv.getSchema(`${this.id}#${headerPointer}/schema`);
      if (validate && !validate(value)) problems.push(`${where}: header ${name}: ${value} ${this.ajv.errorsText(validate.errors)}`);
    }

    const content = response.content as Record<string, Json> | undefined;
    if (!content) return text === '' ? problems : [...problems, `${where}: body not documented`];
    const mediaType = (headers.get('content-type') ?? '').split(';')[0].trim();
    if (!(mediaType in content)) return [...problems, `${where}: content-type ${mediaType} not documented (${Object.keys(content).join(', ')})`];
    return [...problems, ...this.checkBody(`${this.id}#${responsePointer}/content/${escape(mediaType)}/schema`, text, where)];
  }

  private checkBody(ref: string, text: string, where: string): string[] {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return [`${where}: body is not JSON`];
    }
    const validate = this.ajv.getSchema(ref);
    if (!validate) return [`${where}: no schema at ${ref}`];
    return validate(body) ? [] : [`${where}: body ${this.ajv.errorsText(validate.errors)}`];
  }

  /** Follows a local `$ref`, returning the object and the JSON pointer it lives at. */
  private resolve(node: Json, pointer: string): [Json, string] {
    const ref = node.$ref;
    if (typeof ref !== 'string') return [node, pointer];
    const target = ref.slice(1);
    const value = target
      .split('/')
      .slice(1)
      .reduce<unknown>((at, part) => (at as Json)[part.replace(/~1/g, '/').replace(/~0/g, '~')], this.doc);
    return this.resolve(value as Json, target);
  }
}

function escape(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}
