// Regular expressions (ECMA-262, as JSON Schema and OpenAPI take them) for values that the server
// checks in code rather than with a schema, so that the API document says what is accepted.
import type { UrlPolicy } from '../src/net/url-guard.js';
import { isIP } from 'node:net';

/** Letters match in either case: the server compares these values without case. */
function anyCase(text: string): string {
  return text.replace(/[A-Za-z]/g, (c) => `[${c.toUpperCase()}${c.toLowerCase()}]`);
}

function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// RFC 3986 characters of a path segment, and of a query or fragment.
const PCHAR = "(?:[A-Za-z0-9._~!$&'()*+,;=:@-]|%[0-9A-Fa-f]{2})";
const QCHAR = "(?:[A-Za-z0-9._~!$&'()*+,;=:@/?-]|%[0-9A-Fa-f]{2})";
const PORT = '(?::0*(?:[0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])?)?';
const ANY_HOST = "(?:\\[[0-9A-Fa-f:.]+\\]|(?:[A-Za-z0-9._~!$&'()*+,;=-]|%[0-9A-Fa-f]{2})+)";

/**
 * The URLs that `urlRefusal` (src/net/url-guard.ts) lets through, as far as a pattern can tell: http or
 * https, no credentials, a host of `allowedHosts` when it is set, an RFC 3986 path, query and fragment.
 * The addresses a host stands for are checked when the server connects, so they are not here.
 */
export function urlPattern(policy: UrlPolicy): string {
  const hosts = policy.allowedHosts.map((host) => anyCase(isIP(host) === 6 ? `\\[${literal(host)}\\]` : literal(host)));
  const host = hosts.length > 0 ? `(?:${hosts.join('|')})` : ANY_HOST;
  return `^${anyCase('http')}[Ss]?://${host}${PORT}(?:/${PCHAR}*)*(?:\\?${QCHAR}*)?(?:#${QCHAR}*)?$`;
}

/**
 * What JavaScript's \s and trim() take for white space, spelled out: other regex engines (the API
 * document's readers) each have their own \s.
 */
const SPACE = '\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff';

/** A media type the server takes as one of `types`: compared without case, parameters ignored. */
export function mediaTypePattern(types: string[]): string {
  return `^[${SPACE}]*(?:${types.map((type) => anyCase(literal(type))).join('|')})[${SPACE}]*(?:;[\\s\\S]*)?$`;
}

/** Base64 text as the server decodes it: white space anywhere is dropped, then at most two `=` end it. */
export const BASE64_PATTERN = `^[A-Za-z0-9+/${SPACE}]*(?:=[${SPACE}]*){0,2}$`;
