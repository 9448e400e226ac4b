import type { LoggerService } from '@nestjs/common';
import { Logger, PinoLogger } from 'nestjs-pino';
import type { Logger as Pino } from 'pino';

/**
 * nestjs-pino's PinoLogger writes to the first logger the process built; this one writes to the
 * app's own, so an app built with a captured destination (the tests) gets its Nest lines too.
 * No pino-http middleware is mounted: the request line comes from RequestLog, and the trace id of
 * every line from the async context, at no cost per request.
 */
class AppPinoLogger extends PinoLogger {
  constructor(private readonly pino: Pino) {
    super({ pinoHttp: { logger: pino } });
  }

  override get logger(): Pino {
    return this.pino;
  }
}

/** Nest's own logging (boot, `new Logger(...)` in services, jobs) through nestjs-pino, as JSON lines of `logger`. */
export function nestLoggerOf(logger: Pino): LoggerService {
  return new Logger(new AppPinoLogger(logger), {});
}
