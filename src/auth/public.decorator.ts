import { SetMetadata } from '@nestjs/common';

export const PUBLIC_ROUTE = Symbol('public-route');

/** A route anyone may read without an API key (the published contract and its docs page). */
export const Public = () => SetMetadata(PUBLIC_ROUTE, true);
