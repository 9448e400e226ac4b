import { Controller, Get, Param, Query } from '@nestjs/common';
import { Auth, type AuthContext } from '../../auth/auth-context.js';
import type { components } from '../../generated/v1.js';
import { DtoPipe } from '../../http/dto.pipe.js';
import { DeliveriesService } from './deliveries.service.js';
import { ListDeliveriesQuery } from './dto/list-deliveries.query.js';

@Controller('v1/webhook_endpoints/:id/deliveries')
export class DeliveriesController {
  constructor(private readonly deliveries: DeliveriesService) {}

  @Get()
  list(
    @Auth() auth: AuthContext,
    @Param('id') endpointId: string,
    @Query(new DtoPipe(ListDeliveriesQuery)) query: ListDeliveriesQuery,
  ): Promise<components['schemas']['WebhookDeliveryList']> {
    return this.deliveries.list(auth, endpointId, query);
  }
}
