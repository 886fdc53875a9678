import { closeSync, openSync, writeSync } from 'node:fs';

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

/** Writes `text` as a CRI log file, `repeat` times over, without holding the whole file in memory. */
export function writeCriLog(file: string, text: string, repeat = 1): void {
  const record = Buffer.from(toCriLog(text));
  const fd = openSync(file, 'w');
  try {
    for (let i = 0; i < repeat; i++) writeSync(fd, record);
  } finally {
    closeSync(fd);
  }
}

/** What the pods/log API serves for a log written by writeCriLog: each line newline-terminated. */
export function servedLog(text: string, repeat = 1): string {
  const once = text === '' ? '' : text.endsWith('\n') ? text : `${text}\n`;
  return once.repeat(repeat);
}
