import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';

/**
 * Whether the process is draining, and how much of SHUTDOWN_GRACE_MS is left. From the moment it
 * begins, readiness is false, new requests are refused (503 + `Connection: close`) and the job
 * workers finish what they run within what is left of the grace.
 */
@Injectable()
export class Shutdown implements OnModuleDestroy {
  private startedAt: number | undefined;

  constructor(private readonly config: AppConfig) {}

  get draining(): boolean {
    return this.startedAt !== undefined;
  }

  /** Called by main.ts on SIGTERM/SIGINT before the app closes; later calls keep the first start. */
  begin(): void {
    this.startedAt ??= Date.now();
  }

  /** What is left of the grace period (all of it before shutdown begins). */
  remainingMs(): number {
    if (this.startedAt === undefined) return this.config.shutdownGraceMs;
    return Math.max(0, this.startedAt + this.config.shutdownGraceMs - Date.now());
  }

  /** The first hook of app.close(): an app closed without a signal (the tests, the CLI) drains too. */
  onModuleDestroy(): void {
    this.begin();
  }
}
