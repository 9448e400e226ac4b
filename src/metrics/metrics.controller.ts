import { Controller, Get, UseGuards } from '@nestjs/common';
import { register } from 'prom-client';
import { Public } from '../auth/public.decorator.js';
import { MetricsTokenGuard } from './metrics-token.guard.js';

/** `GET /metrics` on the API's port, behind METRICS_TOKEN (when METRICS_PORT is unset). */
@Public()
@Controller()
export class MetricsController {
  @Get('metrics')
  @UseGuards(MetricsTokenGuard)
  async metrics(): Promise<Response> {
    return new Response(await register.metrics(), { headers: { 'content-type': register.contentType } });
  }
}
