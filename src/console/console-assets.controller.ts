import { Controller, Get, Res, UseFilters } from '@nestjs/common';
import { readFile } from 'node:fs/promises';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/public.decorator.js';
import { ConsoleErrorFilter } from './console-error.filter.js';

// The same folder from src/console (tests) and dist/console (npm start): tsc copies no CSS.
const STYLESHEET = new URL('../../src/console/assets/console.css', import.meta.url);

/** The console's stylesheet: a file of this app, never a CDN's. Public: it holds nothing about anyone. */
@Public()
@Controller('console')
@UseFilters(ConsoleErrorFilter)
export class ConsoleAssetsController {
  private stylesheet: Buffer | undefined;

  @Get('console.css')
  async css(@Res() reply: FastifyReply): Promise<FastifyReply> {
    this.stylesheet ??= await readFile(STYLESHEET);
    return reply.code(200).headers({ 'content-type': 'text/css; charset=utf-8', 'cache-control': 'public, max-age=300' }).send(this.stylesheet);
  }
}
