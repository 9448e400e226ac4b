import type { Mode } from '../auth/auth-context.js';

/** The columns an event is rendered from; `resource` is data.object as JSON text. */
export interface EventRow {
  id: string;
  merchant_id: string;
  mode: Mode;
  payment_id: string;
  type: string;
  sequence: number;
  resource: string;
  created_at: Date;
}

/**
 * The event as merchants see it, in the API and in every webhook delivery. Built around the stored
 * `resource` text rather than re-serialized, so `data.object` keeps the bytes (and the key order:
 * JSON.parse would move a metadata key such as "1042" first) it was written with, and every read and
 * every attempt carries the same body.
 */
export function renderEvent(row: EventRow): string {
  return (
    `{"id":${JSON.stringify(row.id)},"object":"event","type":${JSON.stringify(row.type)},` +
    `"created_at":${JSON.stringify(row.created_at.toISOString())},"livemode":${row.mode === 'live'},` +
    `"sequence":${Number(row.sequence)},"data":{"object":${row.resource}}}`
  );
}

/** A page of events from `limit + 1` rows, as text for the same reason as renderEvent. */
export function renderEventPage(rows: EventRow[], limit: number, url: string): string {
  const data = rows.slice(0, limit).map(renderEvent).join(',');
  return `{"object":"list","url":${JSON.stringify(url)},"data":[${data}],"has_more":${rows.length > limit}}`;
}
