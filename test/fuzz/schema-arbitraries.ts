import fc from 'fast-check';

/**
 * fast-check arbitraries from the JSON Schemas of an OpenAPI document, for the keywords the spec
 * uses: `$ref`, `type` (one or a list), `enum`, `const`, `minimum`/`maximum`, `minLength`/
 * `maxLength`, `pattern`, `examples`, `properties`/`required`/`additionalProperties`,
 * `minProperties`/`maxProperties`, `propertyNames`, `items`/`minItems`/`maxItems`/`uniqueItems`. `valid` draws values the schema accepts and
 * `invalid` values it refuses, so a change to the spec changes what the fuzz sends.
 */
export type Schema = Record<string, unknown>;

/** No schema of a request in the spec holds these, and the server refuses them whatever the schema (input-guard.ts). */
const PROTOTYPE_NAMES = Object.getOwnPropertyNames(Object.prototype);

/** Well-formed text with no NUL: what any string field may carry. */
const text = (maxLength: number) =>
  fc.string({ unit: 'grapheme', maxLength }).filter((s) => !s.includes('\u0000') && [...s].length <= maxLength && !PROTOTYPE_NAMES.includes(s));

/**
 * Text at a schema's `maxLength`, which counts characters (code points), not UTF-16 units: with
 * characters outside the BMP it is up to twice as long in UTF-16, where a server may count.
 */
const longest = (maxLength: number) => fc.string({ unit: fc.constantFrom('a', 'é', '😀', '𝄞'), minLength: maxLength, maxLength });

export class SchemaArbitraries {
  constructor(private readonly doc: Schema) {}

  resolve(schema: Schema): Schema {
    const ref = schema.$ref;
    if (typeof ref !== 'string') return schema;
    const target = ref
      .slice(2)
      .split('/')
      .reduce<unknown>((at, part) => (at as Schema)[part], this.doc) as Schema;
    return this.resolve(target);
  }

  valid(input: Schema): fc.Arbitrary<unknown> {
    const schema = this.resolve(input);
    if (Array.isArray(schema.enum)) return fc.constantFrom(...schema.enum);
    if ('const' in schema) return fc.constant(schema.const);
    if (Array.isArray(schema.oneOf)) return fc.oneof(...(schema.oneOf as Schema[]).map((s) => this.valid(s)));
    const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
    switch (type) {
      case 'integer':
        return fc.integer({ min: (schema.minimum as number | undefined) ?? -1e9, max: (schema.maximum as number | undefined) ?? 1e9 });
      case 'boolean':
        return fc.boolean();
      case 'null':
        return fc.constant(null);
      case 'string':
        return this.validString(schema);
      case 'object':
        return this.validObject(schema);
      case 'array':
        return this.validArray(schema);
      default:
        throw new Error(`no valid arbitrary for schema ${JSON.stringify(schema)}`);
    }
  }

  /** A value the schema refuses, with a word on why (for the failure message). */
  invalid(input: Schema): fc.Arbitrary<{ value: unknown; why: string }> {
    const schema = this.resolve(input);
    const tagged = (why: string, arb: fc.Arbitrary<unknown>) => arb.map((value) => ({ value, why }));
    // A value of none of the types (`type: [string, 'null']` accepts null).
    const notThisType = (types: unknown[]) =>
      tagged(`not a ${types.join(' or ')}`, fc.constantFrom<unknown>(...[12, 1.5, true, null, 'x', [], {}].filter((v) => !types.includes(jsonType(v)) && !(types.includes('number') && jsonType(v) === 'integer'))));
    if (Array.isArray(schema.enum)) return fc.oneof(tagged('not in the enum', text(30).filter((s) => !(schema.enum as unknown[]).includes(s))), notThisType(['string']));
    if (Array.isArray(schema.oneOf)) return this.invalidChoice(schema.oneOf as Schema[]);
    const types = Array.isArray(schema.type) ? (schema.type as unknown[]) : [schema.type];
    const type = types[0];
    const options: fc.Arbitrary<{ value: unknown; why: string }>[] = [notThisType(types)];
    if (type === 'integer') {
      options.push(tagged('a fraction', fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Number.isInteger(n))));
      options.push(tagged('a numeric string', fc.integer().map(String)));
      if (typeof schema.minimum === 'number') options.push(tagged('below the minimum', fc.integer({ min: -1e12, max: schema.minimum - 1 })));
      if (typeof schema.maximum === 'number') options.push(tagged('above the maximum', fc.integer({ min: schema.maximum + 1, max: 1e12 })));
    }
    if (type === 'string') {
      if (typeof schema.maxLength === 'number') options.push(tagged('too long', fc.integer({ min: schema.maxLength + 1, max: schema.maxLength + 40 }).map((n) => 'x'.repeat(n))));
      if (typeof schema.minLength === 'number' && schema.minLength > 0) options.push(tagged('too short', fc.constant('')));
      if (typeof schema.pattern === 'string') {
        const pattern = new RegExp(schema.pattern as string);
        options.push(tagged('not matching the pattern', text(20).filter((s) => !pattern.test(s))));
      }
    }
    if (type === 'object') options.push(...this.invalidObject(schema));
    if (type === 'array') options.push(...this.invalidArray(schema));
    return fc.oneof(...options);
  }

  /** A `oneOf` of string constants (an enum and a `const`): any other text, or no string at all. */
  private invalidChoice(branches: Schema[]): fc.Arbitrary<{ value: unknown; why: string }> {
    const allowed = branches.map((b) => this.resolve(b)).flatMap((b) => {
      if (Array.isArray(b.enum)) return b.enum as unknown[];
      if ('const' in b) return [b.const];
      throw new Error(`no invalid arbitrary for a oneOf branch ${JSON.stringify(b)}`);
    });
    return fc.oneof(
      text(30).filter((s) => !allowed.includes(s)).map((value) => ({ value, why: 'none of the choices' })),
      fc.constantFrom<unknown>(12, true, null, [], {}).map((value) => ({ value, why: 'not a string' })),
    );
  }

  private validArray(schema: Schema): fc.Arbitrary<unknown[]> {
    const items = this.valid(schema.items as Schema);
    const minLength = (schema.minItems as number | undefined) ?? 0;
    const maxLength = Math.max(minLength, Math.min((schema.maxItems as number | undefined) ?? 5, 5));
    return schema.uniqueItems === true
      ? fc.uniqueArray(items, { minLength, maxLength, selector: (v) => JSON.stringify(v) })
      : fc.array(items, { minLength, maxLength });
  }

  private invalidArray(schema: Schema): fc.Arbitrary<{ value: unknown; why: string }>[] {
    const items = schema.items as Schema;
    const options = [this.invalid(items).map((bad) => ({ value: [bad.value], why: `an item: ${bad.why}` }))];
    if (typeof schema.minItems === 'number' && schema.minItems > 0) options.push(fc.constant({ value: [], why: 'too few items' }));
    if (typeof schema.maxItems === 'number') {
      const max = schema.maxItems;
      options.push(fc.array(this.valid(items), { minLength: max + 1, maxLength: max + 3 }).map((value) => ({ value, why: 'too many items' })));
    }
    if (schema.uniqueItems === true) options.push(this.valid(items).map((v) => ({ value: [v, v], why: 'a repeated item' })));
    return options;
  }

  /**
   * A query parameter's text the schema refuses. In a query every value is text, so a number is
   * written in decimal and the refusals are the text that does not read as one in range.
   */
  invalidQueryValue(input: Schema): fc.Arbitrary<{ value: string; why: string }> {
    const schema = this.resolve(input);
    if (schema.type === 'integer') {
      const min = (schema.minimum as number | undefined) ?? -Infinity;
      const max = (schema.maximum as number | undefined) ?? Infinity;
      return fc.oneof(
        fc.integer({ min: -1e9, max: 1e9 }).filter((n) => n < min || n > max).map((n) => ({ value: String(n), why: 'out of range' })),
        text(10).filter((s) => !/^-?[0-9]+$/.test(s)).map((value) => ({ value, why: 'not a whole number' })),
        fc.constantFrom('0x10', '1e1', '010', ' 5', '5.0', '+5', '١٢').map((value) => ({ value, why: 'not plain decimal digits' })),
      );
    }
    return this.invalid(schema).map(({ value, why }) => ({ value: typeof value === 'string' ? value : JSON.stringify(value), why }));
  }

  private validString(schema: Schema): fc.Arbitrary<string> {
    const maxLength = Math.min((schema.maxLength as number | undefined) ?? 60, 60);
    const minLength = (schema.minLength as number | undefined) ?? 0;
    const base =
      typeof schema.pattern === 'string'
        ? fc.stringMatching(new RegExp(schema.pattern)).filter((s) => s.length >= minLength && s.length <= ((schema.maxLength as number | undefined) ?? Infinity))
        : typeof schema.maxLength === 'number'
          ? fc.oneof({ arbitrary: text(maxLength).filter((s) => [...s].length >= minLength), weight: 4 }, { arbitrary: longest(schema.maxLength), weight: 1 })
          : text(maxLength).filter((s) => [...s].length >= minLength);
    // Examples are the values known to mean something (a supported currency), so most draws use them.
    const examples = Array.isArray(schema.examples) ? (schema.examples as string[]) : [];
    return examples.length ? fc.oneof({ arbitrary: fc.constantFrom(...examples), weight: 4 }, { arbitrary: base, weight: 1 }) : base;
  }

  private validObject(schema: Schema): fc.Arbitrary<Record<string, unknown>> {
    const properties = (schema.properties ?? {}) as Record<string, Schema>;
    const required = (schema.required ?? []) as string[];
    const minProperties = (schema.minProperties as number | undefined) ?? 0;
    if (Object.keys(properties).length > 0) {
      const record = fc.record(Object.fromEntries(Object.entries(properties).map(([name, s]) => [name, this.valid(s)])), { requiredKeys: required });
      return record.filter((value) => Object.keys(value).length >= minProperties) as fc.Arbitrary<Record<string, unknown>>;
    }
    const values = typeof schema.additionalProperties === 'object' ? this.valid(schema.additionalProperties as Schema) : fc.string();
    const names = this.resolve((schema.propertyNames ?? {}) as Schema);
    const shortKey = text((names.maxLength as number | undefined) ?? 40).filter((s) => s.length >= ((names.minLength as number | undefined) ?? 0));
    const key = typeof names.maxLength === 'number' ? fc.oneof({ arbitrary: shortKey, weight: 4 }, { arbitrary: longest(names.maxLength), weight: 1 }) : shortKey;
    return fc.dictionary(key, values, { minKeys: minProperties, maxKeys: Math.min((schema.maxProperties as number | undefined) ?? 5, 5) });
  }

  private invalidObject(schema: Schema): fc.Arbitrary<{ value: unknown; why: string }>[] {
    const properties = (schema.properties ?? {}) as Record<string, Schema>;
    const required = (schema.required ?? []) as string[];
    const options: fc.Arbitrary<{ value: unknown; why: string }>[] = [];
    const valid = this.validObject(schema);
    if (Object.keys(properties).length > 0) {
      const names = Object.keys(properties);
      options.push(
        fc.tuple(valid, fc.constantFrom(...names)).chain(([value, name]) =>
          this.invalid(properties[name]).map((bad) => ({ value: { ...value, [name]: bad.value }, why: `${name}: ${bad.why}` })),
        ),
      );
      for (const name of required) {
        options.push(valid.map((value) => ({ value: Object.fromEntries(Object.entries(value).filter(([k]) => k !== name)), why: `${name} missing` })));
      }
      if (schema.additionalProperties === false) {
        options.push(fc.tuple(valid, fc.stringMatching(/^[a-z_]{1,12}$/).filter((n) => !names.includes(n))).map(([value, name]) => ({ value: { ...value, [name]: 1 }, why: `unknown field ${name}` })));
      }
      if (typeof schema.minProperties === 'number' && schema.minProperties > 0) options.push(fc.constant({ value: {}, why: 'no property' }));
      return options;
    }
    if (typeof schema.maxProperties === 'number') {
      const max = schema.maxProperties;
      options.push(fc.integer({ min: max + 1, max: max + 5 }).map((n) => ({ value: Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 'v'])), why: 'too many keys' })));
    }
    const names = this.resolve((schema.propertyNames ?? {}) as Schema);
    if (typeof names.maxLength === 'number') options.push(fc.constant({ value: { ['k'.repeat(names.maxLength + 1)]: 'v' }, why: 'a key too long' }));
    if (typeof names.minLength === 'number' && names.minLength > 0) options.push(fc.constant({ value: { '': 'v' }, why: 'an empty key' }));
    if (typeof schema.additionalProperties === 'object') {
      options.push(this.invalid(schema.additionalProperties as Schema).map((bad) => ({ value: { k: bad.value }, why: `a value: ${bad.why}` })));
    }
    return options;
  }
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

/**
 * What the server refuses whatever a schema says (input-guard.ts, the JSON parser), placed inside
 * an otherwise valid body: each is invalid input of its own class.
 */
export const hostileValues: fc.Arbitrary<{ value: unknown; why: string }> = fc.oneof(
  fc.constantFrom(...PROTOTYPE_NAMES).map((name) => ({ value: JSON.parse(`{${JSON.stringify(name)}:"x"}`) as unknown, why: `a key named ${name}` })),
  fc.integer({ min: 9, max: 3_000 }).map((depth) => ({ value: JSON.parse(`${'['.repeat(depth)}${']'.repeat(depth)}`) as unknown, why: `nested ${depth} deep` })),
  fc.integer({ min: 0xd800, max: 0xdfff }).map((unit) => ({ value: `a${String.fromCharCode(unit)}b`, why: `a lone surrogate U+${unit.toString(16)}` })),
  fc.string({ maxLength: 10 }).map((s) => ({ value: `${s}\u0000${s}`, why: 'a NUL character' })),
);
