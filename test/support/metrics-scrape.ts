/** One scrape of a Prometheus text exposition, parsed. */
export class Scrape {
  private readonly samples: { name: string; labels: Record<string, string>; value: number }[] = [];

  constructor(readonly text: string) {
    for (const line of text.split('\n')) {
      if (line === '' || line.startsWith('#')) continue;
      const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
      if (!match) throw new Error(`not a sample line: ${line}`);
      const labels: Record<string, string> = {};
      for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[key] = value;
      this.samples.push({ name: match[1], labels, value: Number(match[3]) });
    }
  }

  /** Whether the metric family is exposed (its HELP line), with or without samples. */
  has(name: string): boolean {
    return this.text.includes(`# HELP ${name} `);
  }

  /** The samples named `name` whose labels include `labels`; undefined when there is none. */
  value(name: string, labels: Record<string, string> = {}): number | undefined {
    const matching = this.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
    return matching.length === 0 ? undefined : matching.reduce((sum, s) => sum + s.value, 0);
  }

  /** As value(), 0 when there is no such sample (a counter not yet incremented). */
  count(name: string, labels: Record<string, string> = {}): number {
    return this.value(name, labels) ?? 0;
  }

  /** Every label set of the samples named `name`. */
  labelsOf(name: string): Record<string, string>[] {
    return this.samples.filter((s) => s.name === name).map((s) => s.labels);
  }
}

export async function scrape(url: string, token?: string): Promise<Scrape> {
  const response = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`scrape answered ${response.status}: ${text}`);
  return new Scrape(text);
}
