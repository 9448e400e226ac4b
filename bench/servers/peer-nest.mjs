/**
 * The peer: NestJS on Fastify with @node-idempotency/nestjs and its Redis storage in front of
 * exactly ceiling B's work (transaction 1, the charge, transaction 2). The library answers a replay
 * from Redis; the handler never sees it. Plain JS, so Nest's decorators are applied as functions:
 * there is no decorator syntax to compile, and every dependency is injected by token.
 */
import 'reflect-metadata';
import { BadRequestException, Body, Controller, Headers, Inject, Module, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Idempotent, NodeIdempotencyModule, StorageAdapterEnum } from '@node-idempotency/nestjs';
import { charge, finishPayment, fingerprintOf, insertKeyAndPayment, invalidPayment, openPool } from './ceiling-work.mjs';

const POOL = Symbol('pg pool');

class PaymentsController {
  constructor(pool) {
    this.pool = pool;
  }

  async create(body, key) {
    const problem = invalidPayment(body);
    if (problem) throw new BadRequestException(problem);
    const payment = await insertKeyAndPayment(this.pool, key, fingerprintOf(body), body);
    // The library lets one request per key through, so the key row cannot exist yet.
    if (!payment) throw new Error(`key ${key} reached the handler twice`);
    const answer = await finishPayment(this.pool, payment, await charge(payment));
    // A Nest handler returns an object; Nest serialises it, and the library stores it for replays.
    return JSON.parse(answer.body);
  }
}
Controller('v1')(PaymentsController);
Inject(POOL)(PaymentsController, undefined, 0);
const create = Object.getOwnPropertyDescriptor(PaymentsController.prototype, 'create');
Reflect.decorate([Post('payments'), Idempotent({ enforceIdempotency: true })], PaymentsController.prototype, 'create', create);
Body()(PaymentsController.prototype, 'create', 0);
Headers('idempotency-key')(PaymentsController.prototype, 'create', 1);

const pool = openPool();

class AppModule {}
Module({
  imports: [
    NodeIdempotencyModule.forRootAsync({
      storage: { adapter: StorageAdapterEnum.redis, options: { url: process.env.REDIS_URL } },
      // One prefix per bench run, so runs never see each other's keys; they expire once the run is over.
      cacheKeyPrefix: process.env.PEER_KEY_PREFIX,
      cacheTTLMS: 10 * 60_000,
    }),
  ],
  controllers: [PaymentsController],
  providers: [{ provide: POOL, useValue: pool }],
})(AppModule);

const app = await NestFactory.create(AppModule, new FastifyAdapter(), { logger: ['fatal', 'error'] });
await app.listen(Number(process.env.PORT), process.env.HOST ?? '127.0.0.1');
process.stdout.write('peer-nest listening\n');
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => void app.close().then(() => pool.end()).then(() => process.exit(0)));
}
