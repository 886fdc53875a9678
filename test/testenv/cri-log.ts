/**
 * Turns plain text into the CRI container-log format kwok serves through the pods/log API:
 * one `<RFC 3339 time> stdout F <line>` record per line ("F" = full line).
 */
export function toCriLog(text: string, time = new Date()): string {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const stamp = time.toISOString();
  return lines.map((line) => `${stamp} stdout F ${line}\n`).join('');
}
