import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServerSpec } from './processes.js';

/** Printed by the pod-log binder once it watches pods. */
export const binderReadyLine = 'pod-log-binder: watching pods';

/** Runs pod-log-binder.js (compiled next to this file) with this Node binary; log files go to `logDir`. */
export function podLogBinderSpec(kubeconfig: string, logDir: string): ServerSpec {
  mkdirSync(logDir, { recursive: true });
  const script = join(dirname(fileURLToPath(import.meta.url)), 'pod-log-binder.js');
  return { name: 'pod-log-binder', command: process.execPath, args: [script, kubeconfig, logDir] };
}
