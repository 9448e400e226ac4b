import { Injectable, type PipeTransform } from '@nestjs/common';
import { validateDto } from './validate-dto.js';

/** `@Query(new DtoPipe(Dto))`: the query or body validated into the DTO, or a 400 problem. */
@Injectable()
export class DtoPipe<T extends object> implements PipeTransform<unknown, T> {
  constructor(private readonly dto: new () => T) {}

  transform(value: unknown): T {
    return validateDto(this.dto, value ?? {});
  }
}
