/** In `enabled_events`: every type of events/event-types.ts, including ones added later. */
export const ALL_EVENTS = '*';
