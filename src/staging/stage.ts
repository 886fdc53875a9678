// The staging program of an image job's pod (docs/decisions/0016-file-staging-in-pods.md), run from
// the server's image: `node dist/src/staging/stage.js in` as the init container that puts the file
// inputs in /inputs, `... out` as the sidecar that sends /outputs once the main container has ended.
// It uses Node alone (no package), and reaches the bucket only through the presigned URLs of its plan.
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';

/** What the server tells the staging containers (env K8S_MANAGER_STAGE_PLAN). */
export interface StagePlan {
  /** Input id → presigned GET URL of its file. */
  inputs: Record<string, string>;
  /** Output id → presigned PUT URL and the media type it was signed with. */
  outputs: Record<string, { url: string; mediaType: string }>;
}

export const STAGE_PLAN_VARIABLE = 'K8S_MANAGER_STAGE_PLAN';
export const INPUTS_DIR = '/inputs';
export const OUTPUTS_DIR = '/outputs';

function send(url: string, options: { method: string; headers?: Record<string, string | number> }, body?: NodeJS.ReadableStream): Promise<IncomingMessage> {
  const request = url.startsWith('https:') ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const outgoing = request(url, options, resolve);
    outgoing.on('error', reject);
    // pipeline, not pipe: a file that cannot be read rejects this output instead of crashing the sidecar
    if (body) pipeline(body, outgoing).catch(reject);
    else outgoing.end();
  });
}

/** Only the URL's path: its query is a signature, which must not reach a log. */
const where = (url: string) => new URL(url).pathname;

async function stageIn(plan: StagePlan, dir: string): Promise<void> {
  for (const [name, url] of Object.entries(plan.inputs)) {
    const response = await send(url, { method: 'GET' });
    if (response.statusCode !== 200) throw new Error(`input '${name}': the bucket answered ${response.statusCode} for ${where(url)}`);
    await pipeline(response, createWriteStream(join(dir, name)));
    console.log(`input '${name}' staged to ${join(dir, name)}`);
  }
}

async function stageOut(plan: StagePlan, dir: string): Promise<void> {
  let failed = false;
  for (const [name, { url, mediaType }] of Object.entries(plan.outputs)) {
    const path = join(dir, name);
    const size = await stat(path).then((s) => (s.isFile() ? s.size : undefined), () => undefined);
    if (size === undefined) {
      console.log(`output '${name}': no file ${path}`);
      continue;
    }
    const status = await send(url, { method: 'PUT', headers: { 'content-length': size, 'content-type': mediaType } }, createReadStream(path)).then(
      (response) => (response.resume(), String(response.statusCode)),
      (error: Error) => error.message,
    );
    // one output that cannot be sent does not keep the others back; the server names what is missing
    if (status === '200') console.log(`output '${name}' sent (${size} bytes)`);
    else (failed = true), console.error(`output '${name}' was not sent (${status}) to ${where(url)}`);
  }
  if (failed) process.exitCode = 1;
}

async function main(): Promise<void> {
  const [direction] = process.argv.slice(2);
  const plan = JSON.parse(process.env[STAGE_PLAN_VARIABLE] ?? '{"inputs": {}, "outputs": {}}') as StagePlan;
  if (direction === 'in') return stageIn(plan, INPUTS_DIR);
  if (direction !== 'out') throw new Error('usage: stage.js in|out');
  // A sidecar: it runs beside the main container and is stopped with SIGTERM once that has ended.
  const alive = setInterval(() => undefined, 1 << 30); // signal handlers alone do not keep Node running
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  clearInterval(alive);
  await stageOut(plan, OUTPUTS_DIR);
}

if (process.argv[1]?.endsWith('stage.js')) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  });
}
