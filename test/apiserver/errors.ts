// API errors as Kubernetes reports them: a `Status` object with a machine-readable reason and the
// matching HTTP code (API conventions, "Response Status Kind"). Every failure the server produces
// goes through `ApiError`, and `statusBody()` is the one place that turns it into a response.
import type { JsonObject } from './json.js';

/** The `reason` values this server uses, with the HTTP code each one goes with. */
export const STATUS_REASONS = {
  BadRequest: 400,
  NotFound: 404,
  MethodNotAllowed: 405,
  NotAcceptable: 406,
  AlreadyExists: 409,
  Conflict: 409,
  Expired: 410,
  UnsupportedMediaType: 415,
  Invalid: 422,
  InternalError: 500,
} as const;
export type StatusReason = keyof typeof STATUS_REASONS;

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: { reason?: string; message: string; field?: string }[];
}

export class ApiError extends Error {
  readonly code: number;
  constructor(
    readonly reason: StatusReason,
    message: string,
    readonly details?: StatusDetails,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'ApiError';
    this.code = STATUS_REASONS[reason];
  }
}

/** `group` and `resource` as the real server names them in messages: `services.serving.knative.dev`. */
export interface GroupResource {
  group: string;
  plural: string;
}

function qualified(gr: GroupResource): string {
  return gr.group === '' ? gr.plural : `${gr.plural}.${gr.group}`;
}

export function notFound(gr: GroupResource, name: string): ApiError {
  return new ApiError('NotFound', `${qualified(gr)} "${name}" not found`, {
    name,
    group: gr.group,
    kind: gr.plural,
  });
}

export function alreadyExists(gr: GroupResource, name: string): ApiError {
  return new ApiError('AlreadyExists', `${qualified(gr)} "${name}" already exists`, {
    name,
    group: gr.group,
    kind: gr.plural,
  });
}

/** The optimistic-concurrency failure (API conventions, "Concurrency Control and Consistency"). */
export function conflict(gr: GroupResource, name: string): ApiError {
  return new ApiError(
    'Conflict',
    `Operation cannot be fulfilled on ${qualified(gr)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    { name, group: gr.group, kind: gr.plural },
  );
}

export function invalid(
  gr: GroupResource & { kind: string },
  name: string,
  causes: { field: string; message: string }[],
): ApiError {
  const text = causes.map((c) => `${c.field}: ${c.message}`).join(', ');
  return new ApiError('Invalid', `${gr.kind}.${gr.group || 'core'} "${name}" is invalid: ${text}`, {
    name,
    group: gr.group,
    kind: gr.kind,
    causes: causes.map((c) => ({ reason: 'FieldValueInvalid', message: c.message, field: c.field })),
  });
}

export function badRequest(message: string): ApiError {
  return new ApiError('BadRequest', message);
}

export function statusBody(err: ApiError): JsonObject {
  const body: JsonObject = {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: err.message,
    reason: err.reason,
    code: err.code,
  };
  if (err.details !== undefined) body['details'] = JSON.parse(JSON.stringify(err.details)) as JsonObject;
  return body;
}
