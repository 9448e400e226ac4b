import { Module } from '@nestjs/common';
import { DnsHostResolver, HostResolver } from './host-resolver.js';
import { SsrfGuard } from './ssrf-guard.js';

/** The endpoint URL check, shared by the endpoints API (at creation) and the delivery worker (at every delivery). */
@Module({ providers: [SsrfGuard, { provide: HostResolver, useClass: DnsHostResolver }], exports: [SsrfGuard] })
export class SsrfGuardModule {}
