import { Controller, Get, Param } from '@nestjs/common';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Public } from '../auth/public.decorator.js';
import { ProblemError } from '../errors/problem.js';

const SPEC_DIR = fileURLToPath(new URL('../../openapi/', import.meta.url));
const SWAGGER_UI_DIR = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
const SPECS = ['v1', 'v2'];

/** The few Swagger UI files the page loads, served from the package: nothing comes from a CDN. */
const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'index.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
  'favicon-16x16.png': 'image/png',
};

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>idempay API reference</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
  <link rel="stylesheet" href="/docs/index.css">
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/swagger-ui-standalone-preset.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>
`;

// A file, not an inline script, so the page's CSP needs no 'unsafe-inline' for scripts. A key typed
// into "Authorize" stays in the page's memory only (no localStorage), and the spec is not sent to
// swagger.io's validator.
const INIT = `window.ui = SwaggerUIBundle({
  urls: ${JSON.stringify(SPECS.map((name) => ({ url: `/openapi/${name}.yaml`, name })))},
  dom_id: '#swagger-ui',
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: 'StandaloneLayout',
  persistAuthorization: false,
  validatorUrl: null,
});
`;

// Same-origin files only. Styles allow 'unsafe-inline' because Swagger UI sets inline styles as it
// renders (a style cannot run script); its CSS draws icons as data: SVGs; "Try it out" and the
// spec are fetched from this origin.
const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** The published contract (`/openapi/v1.yaml`) and an interactive reference of it (`/docs`). */
@Public()
@Controller()
export class DocsController {
  private readonly cache = new Map<string, Buffer>();

  @Get('openapi/:file')
  async spec(@Param('file') file: string): Promise<Response> {
    const name = file.replace(/\.yaml$/, '');
    if (!file.endsWith('.yaml') || !SPECS.includes(name)) throw new ProblemError('resource-not-found', `No spec ${file}; try /openapi/v1.yaml.`);
    return this.send(join(SPEC_DIR, file), 'application/yaml; charset=utf-8');
  }

  @Get('docs')
  page(): Response {
    return new Response(PAGE, { headers: { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': PAGE_CSP } });
  }

  @Get('docs/init.js')
  init(): Response {
    return new Response(INIT, { headers: { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'public, max-age=300' } });
  }

  @Get('docs/:asset')
  asset(@Param('asset') asset: string): Promise<Response> {
    const type = Object.hasOwn(ASSETS, asset) ? ASSETS[asset] : undefined;
    if (!type) throw new ProblemError('resource-not-found', `No asset ${asset}.`);
    return this.send(join(SWAGGER_UI_DIR, asset), type);
  }

  private async send(path: string, type: string): Promise<Response> {
    let bytes = this.cache.get(path);
    if (!bytes) {
      bytes = await readFile(path);
      this.cache.set(path, bytes);
    }
    return new Response(new Uint8Array(bytes), { headers: { 'content-type': type, 'cache-control': 'public, max-age=300' } });
  }
}
