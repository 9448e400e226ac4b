import { register } from 'prom-client';

/**
 * A metric of prom-client's default registry, made once however many times the module defining it
 * is evaluated: registering a name twice throws.
 */
export function registeredMetric<T>(name: string, make: (name: string) => T): T {
  return (register.getSingleMetric(name) as T | undefined) ?? make(name);
}
