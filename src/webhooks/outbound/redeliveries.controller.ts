import { Body, Controller, Param, Post } from '@nestjs/common';
import { Auth, type AuthContext } from '../../auth/auth-context.js';
import type { ClaimedKey } from '../../idempotency/claimed-key.js';
import { Idempotent, IdempotencyKey } from '../../idempotency/idempotent.decorator.js';
import type { StoredResponse } from '../../idempotency/stored-response.js';
import { RedeliverEventDto } from './dto/redeliver-event.dto.js';
import { RedeliverEventOperation } from './operations/redeliver-event.operation.js';

/** Under /v1/events, but here: re-queuing writes deliveries, and events/ knows nothing of them. */
@Controller('v1/events/:id/redeliver')
export class RedeliveriesController {
  constructor(private readonly redeliverEvent: RedeliverEventOperation) {}

  @Post()
  @Idempotent({ body: RedeliverEventDto, bodyOptional: true })
  redeliver(@Auth() auth: AuthContext, @Param('id') eventId: string, @Body() dto: RedeliverEventDto, @IdempotencyKey() key: ClaimedKey): Promise<StoredResponse> {
    return this.redeliverEvent.run(auth, eventId, dto, key);
  }
}
