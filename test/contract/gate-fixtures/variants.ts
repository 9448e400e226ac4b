// Variants of the contract for the breaking-change gate: each is one change to openapi/v1.yaml, made
// on the parsed document, so no near-copy of the spec is committed and each change reads as one line.

/** The parsed contract: variants reach deep into it, and a precise type would not survive their edits. */
export type Spec = any;

export interface Variant {
  name: string;
  /** Whether a client of the released contract could break: the gate must refuse it, else let it through. */
  breaking: boolean;
  /**
   * A line of optic's report proving it judged this very change (the rule that refused it, or the
   * change it let through), so a variant refused or passed for another reason cannot pass the test.
   */
  reported: RegExp;
  /** Applied to both sides first, when the change needs something the contract does not have yet. */
  setup?: (spec: Spec) => void;
  change: (spec: Spec) => void;
}

const schemas = (spec: Spec) => spec.components.schemas;
const byId = (spec: Spec) => spec.paths['/v1/payments/{id}'];
const collection = (spec: Spec) => spec.paths['/v1/payments'];
const addCaptureMethod = (values: string[]) => (spec: Spec) => {
  schemas(spec).PaymentCreateRequest.properties.capture_method = { type: 'string', enum: values };
};

export const variants: Variant[] = [
  {
    name: 'a removed path',
    breaking: true,
    reported: /GET \/v1\/payments\/\{id\}: removed[\s\S]*\[prevent operation removal\]/,
    change: (spec) => delete spec.paths['/v1/payments/{id}'],
  },
  {
    name: 'a removed operation',
    breaking: true,
    reported: /PATCH \/v1\/payments\/\{id\}: removed[\s\S]*\[prevent operation removal\]/,
    change: (spec) => delete byId(spec).patch,
  },
  {
    name: 'a removed response property',
    breaking: true,
    reported: /\[prevent removing response property\] cannot remove response property 'failure_message'/,
    change: (spec) => {
      const payment = schemas(spec).Payment;
      delete payment.properties.failure_message;
      payment.required = payment.required.filter((name: string) => name !== 'failure_message');
    },
  },
  {
    name: 'a value removed from a response enum',
    breaking: true,
    reported: /\[prevent removing a response enum value\] cannot remove enum value 'pending' from response property 'status'/,
    change: (spec) => {
      schemas(spec).PaymentStatus.enum = ['processing', 'succeeded', 'failed'];
    },
  },
  {
    name: 'a request field narrowed from string to integer',
    breaking: true,
    reported: /\[prevent request property type changes\] expected request body property 'description' not to be narrowed/,
    change: (spec) => {
      schemas(spec).PaymentCreateRequest.properties.description = { type: 'integer' };
    },
  },
  {
    name: 'a tighter maxLength on a request field',
    breaking: true,
    reported: /\[prevent narrowing a request property\] request body property 'description' accepts less than before \(maxLength 1000 → 100\)/,
    change: (spec) => {
      schemas(spec).PaymentCreateRequest.properties.description.maxLength = 100;
    },
  },
  {
    name: 'a new pattern on a header parameter',
    breaking: true,
    reported: /\[prevent narrowing a parameter\] header parameter 'traceparent' accepts less than before \(pattern/,
    change: (spec) => {
      spec.components.parameters.Traceparent.schema.pattern = '^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$';
    },
  },
  {
    name: 'a new required request field',
    breaking: true,
    reported: /\[prevent changing request property to required\] cannot add a required request property 'customer'/,
    change: (spec) => {
      const create = schemas(spec).PaymentCreateRequest;
      create.properties.customer = { type: 'string' };
      create.required.push('customer');
    },
  },
  {
    name: 'a new required query parameter',
    breaking: true,
    reported: /\[prevent new required query parameters\] cannot add required query parameter customer/,
    change: (spec) => {
      collection(spec).get.parameters.push({ name: 'customer', in: 'query', required: true, schema: { type: 'string' } });
    },
  },
  {
    name: 'a new required header parameter',
    breaking: true,
    reported: /\[prevent new required header parameters\] cannot add required header parameter Idempay-Account/,
    change: (spec) => {
      collection(spec).post.parameters.push({ name: 'Idempay-Account', in: 'header', required: true, schema: { type: 'string' } });
    },
  },
  {
    name: 'a removed response status code',
    breaking: true,
    reported: /\[prevent response status code removal\] must not remove response status code 202/,
    change: (spec) => delete collection(spec).post.responses['202'],
  },
  {
    // optic.yml: a v1 client never reads info.version, so a major bump must not waive the check.
    name: 'a removed operation behind a major version bump',
    breaking: true,
    reported: /PATCH \/v1\/payments\/\{id\}: removed[\s\S]*\[prevent operation removal\]/,
    change: (spec) => {
      spec.info.version = '2.0.0';
      delete byId(spec).patch;
    },
  },
  {
    name: 'a new optional request field',
    breaking: false,
    reported: /POST \/v1\/payments:[\s\S]*property \/schema\/properties\/statement_descriptor: added/,
    change: (spec) => {
      schemas(spec).PaymentCreateRequest.properties.statement_descriptor = { type: 'string', maxLength: 22 };
    },
  },
  {
    name: 'a new response property',
    breaking: false,
    reported: /GET \/v1\/payments\/\{id\}:[\s\S]*property \/schema\/properties\/captured: added/,
    change: (spec) => {
      const payment = schemas(spec).Payment;
      payment.properties.captured = { type: 'boolean' };
      payment.required.push('captured');
    },
  },
  {
    name: 'a new path',
    breaking: false,
    reported: /GET \/v1\/refunds: added/,
    change: (spec) => {
      spec.paths['/v1/refunds'] = {
        get: { operationId: 'listRefunds', summary: 'List refunds', responses: { '200': { description: 'A page of refunds.' } } },
      };
    },
  },
  {
    name: 'a new optional query parameter',
    breaking: false,
    reported: /GET \/v1\/payments:[\s\S]*query parameter status: added/,
    change: (spec) => {
      collection(spec).get.parameters.push({ name: 'status', in: 'query', required: false, schema: { type: 'string' } });
    },
  },
  {
    name: 'a new value in a request enum',
    breaking: false,
    reported: /POST \/v1\/payments:[\s\S]*property \/schema\/properties\/capture_method: changed/,
    setup: addCaptureMethod(['automatic']),
    change: addCaptureMethod(['automatic', 'manual']),
  },
];
