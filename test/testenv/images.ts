import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** An image for the real node: a `docker save` archive that containerd's `ctr images import` reads. */
export interface ImageArchive {
  reference: string;
  archive: string;
}

const sha256File = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/**
 * Packs `rootfs` into a one-layer image archive, without Docker or a registry: the layer is a tar of
 * the folder (owned by root, times zeroed, so the same files give the same digest), and the archive
 * holds it with its config and a manifest naming `reference`.
 */
export async function packImage(reference: string, rootfs: string, archive: string, cmd: string[]): Promise<ImageArchive> {
  const work = mkdtempSync(`${archive}.work-`);
  try {
    const layer = join(work, 'layer.tar');
    await run('tar', ['-C', rootfs, '--numeric-owner', '--owner=0', '--group=0', '--sort=name', '--mtime=@0', '-cf', layer, '.']);
    const diffId = sha256File(layer);
    mkdirSync(join(work, diffId));
    renameSync(layer, join(work, diffId, 'layer.tar'));
    const config = { architecture: 'amd64', os: 'linux', config: { Env: ['PATH=/bin'], Cmd: cmd }, rootfs: { type: 'layers', diff_ids: [`sha256:${diffId}`] } };
    const configText = JSON.stringify(config);
    const configName = `${createHash('sha256').update(configText).digest('hex')}.json`;
    writeFileSync(join(work, configName), configText);
    writeFileSync(join(work, 'manifest.json'), JSON.stringify([{ Config: configName, RepoTags: [reference], Layers: [`${diffId}/layer.tar`] }]));
    await run('tar', ['-C', work, '--numeric-owner', '--owner=0', '--group=0', '-cf', archive, 'manifest.json', configName, diffId]);
    return { reference, archive };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** A folder with one static program at `/<name>`, e.g. the pause program. */
export function singleProgramRoot(dir: string, program: string, name: string): string {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  copyFileSync(program, join(dir, name));
  return dir;
}

/**
 * A folder with a static busybox and a link for each of its applets under /bin, and an empty /tmp:
 * enough of a system for test jobs written as shell scripts.
 */
export async function busyboxRoot(dir: string, busybox: string): Promise<string> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'bin'), { recursive: true });
  mkdirSync(join(dir, 'tmp'));
  chmodSync(join(dir, 'tmp'), 0o1777);
  copyFileSync(busybox, join(dir, 'bin', 'busybox'));
  const { stdout } = await run(busybox, ['--list']);
  for (const applet of stdout.split('\n').filter((name) => name && name !== 'busybox')) symlinkSync('busybox', join(dir, 'bin', applet));
  return dir;
}

/**
 * A folder with what the server's image offers its staging containers: node (with the libraries it
 * links, found with ldd), the staging program at the image's path, /app/dist/src/staging/stage.js, and
 * the bundled S3 client beside it (which a test image that speaks S3 itself uses).
 * The server's own image cannot be built here (no Docker), so the real node runs this one in its place.
 */
export async function stagerRoot(dir: string, node: string, distSrc: string): Promise<string> {
  rmSync(dir, { recursive: true, force: true });
  const place = (from: string, to: string) => {
    mkdirSync(join(dir, dirname(to)), { recursive: true });
    copyFileSync(from, join(dir, to));
  };
  place(node, '/bin/node');
  const { stdout } = await run('ldd', [node]);
  for (const library of stdout.matchAll(/(?:=>\s*)?(\/\S+)\s+\(0x/g)) place(library[1]!, library[1]!);
  for (const program of ['staging/stage.js', 's3/client.js']) place(join(distSrc, program), `/app/dist/src/${program}`);
  writeFileSync(join(dir, 'app', 'package.json'), JSON.stringify({ type: 'module' })); // the program is an ES module
  return dir;
}
