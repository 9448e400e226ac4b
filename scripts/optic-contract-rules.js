// Our own optic ruleset, loaded through optic.yml next to the stock `breaking-changes` one. It adds
// what optic 1.0.9 lets through but a released idempay client would feel:
// - a value removed from a response enum (optic deems it safe; typed clients that switch on it,
//   such as code generated from the spec, stop compiling);
// - a request body field, the request body, or a parameter accepting less than before: a new or
//   tighter maxLength/minLength/maximum/…, a new or changed pattern or format (optic only checks `type`).
// Optic loads a local ruleset with require(), which takes this ES module on Node >= 20.19 (our
// engines field; where it cannot, contract-check.mjs fails) and reads its two named exports at the end.
import { OperationRule, PropertyRule, RequestRule, RuleError, Ruleset } from '@useoptic/rulesets-base';

const UPPER_BOUNDS = ['maxLength', 'maximum', 'exclusiveMaximum', 'maxItems', 'maxProperties'];
const LOWER_BOUNDS = ['minLength', 'minimum', 'exclusiveMinimum', 'minItems', 'minProperties'];
// A regular expression or a format cannot be proven to accept a superset of the old one.
const EXACT = ['pattern', 'format'];
const isSchema = (value) => typeof value === 'object' && value !== null;

/** How `after` accepts less than `before`, one sentence per keyword; nested fields are optic's own facts. */
function narrowings(before, after, where = '') {
  if (!isSchema(before) || !isSchema(after)) return [];
  const found = [];
  const tighter = (keyword, isTighter) => {
    const [was, is] = [before[keyword], after[keyword]];
    if (typeof is === 'number' && (typeof was !== 'number' || isTighter(is, was))) {
      found.push(`${where}${keyword} ${was ?? 'unset'} → ${is}`);
    }
  };
  for (const keyword of UPPER_BOUNDS) tighter(keyword, (is, was) => is < was);
  for (const keyword of LOWER_BOUNDS) tighter(keyword, (is, was) => is > was);
  for (const keyword of EXACT) {
    if (after[keyword] !== undefined && after[keyword] !== before[keyword]) {
      found.push(`${where}${keyword} ${JSON.stringify(before[keyword] ?? null)} → ${JSON.stringify(after[keyword])}`);
    }
  }
  if (before.additionalProperties !== false && after.additionalProperties === false) {
    found.push(`${where}additionalProperties → false`);
  }
  for (const sub of ['items', 'additionalProperties', 'propertyNames']) {
    found.push(...narrowings(before[sub], after[sub], `${where}${sub}.`));
  }
  return found;
}

const refuse = (what, found) => {
  if (found.length) {
    throw new RuleError({ message: `${what} accepts less than before (${found.join('; ')}). This is a breaking change.` });
  }
};

const enumOf = (schema) => (Array.isArray(schema?.enum) ? schema.enum : 'const' in (schema ?? {}) ? [schema.const] : null);

const preventResponseEnumValueRemoval = new PropertyRule({
  name: 'prevent removing a response enum value',
  matches: (property) => enumOf(property.raw) !== null,
  rule: (property) => {
    property.changed((before, after) => {
      if ('inRequest' in after.location.conceptualLocation) return;
      const [was, is] = [enumOf(before.raw), enumOf(after.raw)];
      if (!was || !is) return;
      const removed = was.filter((value) => !is.includes(value));
      if (removed.length) {
        throw new RuleError({
          message: `cannot remove enum value${removed.length > 1 ? 's' : ''} '${removed.join(', ')}' from response property '${after.value.key}'. This is a breaking change.`,
        });
      }
    });
  },
});

const preventRequestPropertyNarrowing = new PropertyRule({
  name: 'prevent narrowing a request property',
  rule: (property) => {
    property.changed((before, after) => {
      if (!('inRequest' in after.location.conceptualLocation)) return;
      refuse(`request body property '${after.value.key}'`, narrowings(before.value.flatSchema, after.value.flatSchema));
    });
  },
});

const preventRequestBodyNarrowing = new RequestRule({
  name: 'prevent narrowing a request body',
  rule: (request) => {
    request.body.changed((before, after) => {
      refuse(`request body ${after.value.contentType}`, narrowings(before.value.flatSchema, after.value.flatSchema));
    });
  },
});

const preventParameterNarrowing = new OperationRule({
  name: 'prevent narrowing a parameter',
  rule: (operation) => {
    for (const parameterIn of ['query', 'path', 'header', 'cookie']) {
      operation[`${parameterIn}Parameter`].changed((before, after) => {
        refuse(`${parameterIn} parameter '${after.value.name}'`, narrowings(before.value.schema, after.value.schema));
      });
    }
  },
});

export const configSchema = { type: 'object' };

export function rulesetConstructor() {
  return new Ruleset({
    name: 'idempay contract rules',
    rules: [
      preventResponseEnumValueRemoval,
      preventRequestPropertyNarrowing,
      preventRequestBodyNarrowing,
      preventParameterNarrowing,
    ],
  });
}
