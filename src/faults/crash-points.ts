import { Injectable } from '@nestjs/common';
import { AppConfig, type CrashPoint } from '../config/app-config.js';

/**
 * Test-only fault injection: with IDEMPAY_CRASH_AT set, the process kills itself at that recovery
 * point, the way a power cut would, so tests can prove a retry resumes with exactly one charge.
 */
@Injectable()
export class CrashPoints {
  constructor(private readonly config: AppConfig) {}

  reached(point: CrashPoint): void {
    if (this.config.crashAt === point) process.kill(process.pid, 'SIGKILL');
  }
}
