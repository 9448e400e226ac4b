import type { AppConfig } from '../config/app-config.js';

/**
 * The headers that tell v1 clients their version is going away: `Deprecation: @<unix time>`
 * (RFC 9745), `Sunset: <HTTP-date>` (RFC 8594) and a link to the reference. Undefined while v1 is
 * not deprecated.
 */
export function v1DeprecationHeaders(config: AppConfig): Record<string, string> | undefined {
  if (!config.v1DeprecatedAt) return undefined;
  return {
    deprecation: `@${Math.floor(config.v1DeprecatedAt.getTime() / 1000)}`,
    ...(config.v1SunsetAt ? { sunset: config.v1SunsetAt.toUTCString() } : {}),
    link: '</docs>; rel="deprecation"; type="text/html"',
  };
}
