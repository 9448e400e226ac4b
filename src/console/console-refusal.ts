/** Why the console turns a request away; rendered as a page (or a redirect to the login) by ConsoleErrorFilter. */
export type ConsoleRefusalKind = 'login-required' | 'csrf-refused' | 'not-found' | 'bad-input';

const STATUS: Record<ConsoleRefusalKind, number> = { 'login-required': 401, 'csrf-refused': 403, 'not-found': 404, 'bad-input': 400 };

export class ConsoleRefusal extends Error {
  readonly status: number;

  constructor(
    readonly kind: ConsoleRefusalKind,
    message: string,
  ) {
    super(message);
    this.status = STATUS[kind];
  }
}
