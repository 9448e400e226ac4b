/**
 * Every answer one server gave during a run, kept to check it: each created payment's body (its
 * replays must repeat it byte for byte), the payment ids, refusals, and anything unexpected.
 */

/** A documented load-shedding answer: nothing was done, retry later. Counted, not a failure. */
const isRefusal = (status, headers) => status === 503 && headers['retry-after'] !== undefined;

export class AnswerBook {
  /** Idempotency-Key → body of its 201. */
  created = new Map();
  paymentIds = new Set();
  refused = 0;
  replays = 0;
  replaysIdentical = 0;
  replaysMarked = 0;
  /** "create: HTTP 500" → { count, sample } */
  unexpected = new Map();

  note(what, sample) {
    const entry = this.unexpected.get(what) ?? { count: 0, sample };
    entry.count++;
    this.unexpected.set(what, entry);
  }

  recordCreate(key, status, body, headers) {
    if (status === 201) {
      if (this.created.has(key)) return this.note('create: a fresh key answered twice', key);
      if (headers['idempotent-replayed'] !== undefined) this.note('create: first use marked as replayed', key);
      this.created.set(key, body);
      this.paymentIds.add(JSON.parse(body).id);
    } else if (isRefusal(status, headers)) this.refused++;
    else this.note(`create: HTTP ${status}`, body.slice(0, 300));
  }

  recordReplay(key, status, body, headers) {
    this.replays++;
    // A finished key never waits for the provider, so even a load-shedding server has no reason to refuse it.
    if (status !== 201) return this.note(`replay: HTTP ${status}`, body.slice(0, 300));
    if (body === this.created.get(key)) this.replaysIdentical++;
    else this.note('replay: body differs from the first answer', `${key}: ${body.slice(0, 200)}`);
    if (headers['idempotent-replayed'] === 'true') this.replaysMarked++;
  }

  /** Keys created so far, for replays. */
  keys() {
    return [...this.created.keys()];
  }

  /**
   * `[text, ok]` lines. `stored`: the payment ids in the server's database once it stopped (it also
   * holds the creates whose answers were cut off when a load pass ended); `executions`: the sandbox's
   * count per provider key, or undefined for a server that charges nothing.
   */
  checks(stored, executions) {
    const lines = [];
    if (executions) {
      const counts = Object.values(executions);
      const total = counts.reduce((a, b) => a + b, 0);
      const twice = counts.filter((n) => n > 1).length;
      lines.push([`no provider key charged twice (${twice} of ${counts.length} keys executed more than once)`, twice === 0]);
      lines.push([`sandbox executions (${total}) = payments stored (${stored.size})`, total === stored.size]);
    }
    const missing = [...this.paymentIds].filter((id) => !stored.has(id)).length;
    lines.push([`every payment answered with 201 is stored (${missing} missing of ${this.paymentIds.size})`, missing === 0]);
    lines.push([`distinct payment ids (${this.paymentIds.size}) = created keys (${this.created.size})`, this.paymentIds.size === this.created.size]);
    lines.push([`replays byte-identical to their create's body: ${this.replaysIdentical} of ${this.replays}`, this.replays > 0 && this.replaysIdentical === this.replays]);
    lines.push([`replays marked idempotent-replayed: true: ${this.replaysMarked} of ${this.replays}`, this.replaysMarked === this.replays]);
    const unexpected = [...this.unexpected.values()].reduce((a, e) => a + e.count, 0);
    lines.push([`unexpected answers: ${unexpected}${this.refused ? ` (creates refused with 503 + Retry-After, counted apart: ${this.refused})` : ''}`, unexpected === 0]);
    return lines;
  }
}
