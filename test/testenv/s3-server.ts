import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { s3ClientFor } from '../../src/s3/streams.js';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Binaries } from './binaries.js';
import { httpGet } from './http-probe.js';
import { logTail, startServer, type StartedServer } from './processes.js';
import { waitForServer } from './server-readiness.js';

/** How to reach the S3 server of the environment. */
export interface S3Connection {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  bucket: string;
  region: string;
}

/** The K8S_MANAGER_DATA_BUCKET_* variables that put a server's job files in this S3 server, under `prefix`. */
export function dataBucketVariables(s3: S3Connection, prefix: string): NodeJS.ProcessEnv {
  return {
    K8S_MANAGER_DATA_BUCKET_ENDPOINT: s3.endpoint,
    K8S_MANAGER_DATA_BUCKET_KEY: s3.accessKeyId,
    K8S_MANAGER_DATA_BUCKET_SECRET: s3.secretAccessKey,
    K8S_MANAGER_DATA_BUCKET_NAME: s3.bucket,
    K8S_MANAGER_DATA_BUCKET_PATH_PREFIX: prefix,
    K8S_MANAGER_DATA_BUCKET_REGION: s3.region,
  };
}

/** An S3 client set up the way a non-AWS S3 server needs: the one the log archive uses. */
export function s3Client(s3: S3Connection): S3Client {
  return s3ClientFor(s3);
}

/**
 * Starts versitygw with its POSIX backend in `<stateDir>/s3` and creates the bucket. Object metadata lives in
 * extended attributes; where the file system has none, versitygw refuses to start ("xattr check failed") and
 * is started again with a sidecar metadata directory.
 */
export async function startS3Server(stateDir: string, bin: Binaries, port: number): Promise<{ s3: S3Connection; server: StartedServer }> {
  const s3: S3Connection = {
    endpoint: `http://127.0.0.1:${port}`,
    accessKeyId: `testenv${randomBytes(6).toString('hex')}`,
    secretAccessKey: randomBytes(24).toString('base64url'),
    bucket: 'ogcapi-testenv',
    region: 'us-east-1',
  };
  const dataDir = join(stateDir, 's3', 'data');
  mkdirSync(dataDir, { recursive: true });
  let server = start(stateDir, bin, s3, port, dataDir);
  if (await exitsSoon(server, 'xattr check failed')) {
    const sidecar = join(stateDir, 's3', 'metadata');
    mkdirSync(sidecar, { recursive: true });
    server = start(stateDir, bin, s3, port, dataDir, sidecar);
  }
  await waitForServer(server, 'S3 to answer HTTP', async () => (await httpGet(s3.endpoint)).status > 0, 15_000);
  const client = s3Client(s3);
  try {
    await client.send(new CreateBucketCommand({ Bucket: s3.bucket }));
  } finally {
    client.destroy(); // its open connections would keep a `testenv:up` process alive
  }
  return { s3, server };
}

function start(stateDir: string, bin: Binaries, s3: S3Connection, port: number, dataDir: string, sidecar?: string): StartedServer {
  return startServer(stateDir, {
    name: 'versitygw',
    command: bin.versitygw,
    args: ['--port', `127.0.0.1:${port}`, '--region', s3.region, '--quiet', 'posix', ...(sidecar ? ['--sidecar', sidecar] : []), dataDir],
    env: { ROOT_ACCESS_KEY: s3.accessKeyId, ROOT_SECRET_KEY: s3.secretAccessKey },
  });
}

/** True if the server exits within a second with `message` in its log (a start-up check failed). */
async function exitsSoon(server: StartedServer, message: string): Promise<boolean> {
  for (let i = 0; i < 20 && !server.exit; i++) await sleep(50);
  return server.exit !== undefined && logTail(server.logFile).includes(message);
}
