import { Controller, Get } from '@nestjs/common';
import { Public } from '../auth/public.decorator.js';
import { Readiness } from './readiness.js';

const json = (body: unknown, status: number, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

/** Probes for orchestrators and load balancers: outside /v1, no API key. */
@Public()
@Controller('health')
export class HealthController {
  constructor(private readonly readiness: Readiness) {}

  /** 200 while the process runs and its event loop answers: a failure means restart it. */
  @Get('live')
  live(): Response {
    return json({ status: 'ok' }, 200);
  }

  /** 200 when this instance should get traffic, else 503 with what is wrong. */
  @Get('ready')
  async ready(): Promise<Response> {
    const result = await this.readiness.check();
    return result.status === 'ok' ? json(result, 200) : json(result, 503, { 'retry-after': '1' });
  }
}
