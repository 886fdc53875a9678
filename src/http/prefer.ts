import type { ExecutionPreferences } from '../jobs/manager.js';

/**
 * Parses Prefer header values (RFC 7240): a comma-separated list of `token[=word]` preferences, each
 * with optional `;param` parts; names are case-insensitive, a repeated preference counts once (the
 * first), and a preference that cannot be understood is ignored, as the RFC asks.
 */
export function parsePrefer(header: string | string[] | undefined): Map<string, string> {
  const preferences = new Map<string, string>();
  const values = Array.isArray(header) ? header : header === undefined ? [] : [header];
  for (const preference of values.flatMap((value) => splitOutsideQuotes(value, ','))) {
    const [head = ''] = splitOutsideQuotes(preference, ';');
    const equals = head.indexOf('=');
    const name = (equals < 0 ? head : head.slice(0, equals)).trim().toLowerCase();
    if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(name) || preferences.has(name)) continue;
    const raw = equals < 0 ? '' : head.slice(equals + 1).trim();
    preferences.set(name, raw.startsWith('"') && raw.endsWith('"') && raw.length >= 2 ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw);
  }
  return preferences;
}

export function executionPreferences(header: string | string[] | undefined): ExecutionPreferences {
  const preferences = parsePrefer(header);
  const wait = preferences.get('wait');
  const result: ExecutionPreferences = { respondAsync: preferences.has('respond-async') };
  if (wait !== undefined && /^\d{1,9}$/.test(wait)) result.waitSeconds = Number(wait);
  return result;
}

function splitOutsideQuotes(text: string, separator: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (quoted && char === '\\' && i + 1 < text.length) {
      current += char + text[++i];
      continue;
    }
    if (char === '"') quoted = !quoted;
    if (char === separator && !quoted) {
      if (current.trim()) parts.push(current.trim());
      current = '';
    } else {
      current += char;
    }
  }
  if (current.trim()) parts.push(current.trim());
  return parts;
}
