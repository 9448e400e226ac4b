const SECRET_KEY = /sk_(?:test|live)_/i;
/** Query names shown in logs: lowercase words like `limit`; a random string (a key's tail) never is one. */
const LOGGABLE_NAME = /^[a-z][a-z_]{0,39}$/;
const REDACTED = '[redacted]';

function queryOf(url: string): string | undefined {
  const at = url.indexOf('?');
  return at < 0 ? undefined : url.slice(at + 1);
}

/** `%XX` → its byte as a character; never throws on a bad escape, which is all matching ASCII needs. */
function decodeEscapes(text: string): string {
  return text.replace(/%([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** Whether the query string carries what looks like a secret key, in a name or a value, percent-encoded (even twice) or not. */
export function queryCarriesSecretKey(url: string): boolean {
  let text = queryOf(url);
  for (let pass = 0; text !== undefined && pass < 4; pass++) {
    if (SECRET_KEY.test(text)) return true;
    const decoded = decodeEscapes(text);
    text = decoded === text ? undefined : decoded;
  }
  return false;
}

/** The URL as it may be logged: every query value, and every name that is not a plain word, redacted. */
export function redactQuery(url: string): string {
  const query = queryOf(url);
  if (query === undefined) return url;
  const parts = query.split('&').map((part) => {
    if (part === '') return part;
    const equals = part.indexOf('=');
    const name = equals < 0 ? part : part.slice(0, equals);
    const shown = LOGGABLE_NAME.test(name) && !SECRET_KEY.test(name) ? name : REDACTED;
    return equals < 0 ? shown : `${shown}=${REDACTED}`;
  });
  return `${url.slice(0, url.indexOf('?'))}?${parts.join('&')}`;
}
