// No Docker engine runs here, so the Dockerfile is checked statically: its stages and what they
// copy, against the repository and the build the tests themselves run.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { DockerfileParser, type Copy, type Instruction } from 'dockerfile-ast';
import { intersects } from 'semver';
import { parse } from 'yaml';
import { supportedNodeRange } from '../../src/process-lifecycle.js';
import { repoRoot } from '../support/paths.js';

const dockerfile = DockerfileParser.parse(readFileSync(join(repoRoot, 'Dockerfile'), 'utf8'));
const instructions = dockerfile.getInstructions();
const stageNames = dockerfile.getFROMs().map((from) => from.getBuildStage());
const finalStage = stageNames.at(-1);

/** The instructions of each stage, by name. */
const stages = new Map<string, Instruction[]>();
let current: Instruction[] = [];
for (const instruction of instructions) {
  if (instruction.getKeyword() === 'FROM') stages.set((instruction as unknown as { getBuildStage(): string }).getBuildStage(), (current = []));
  else current.push(instruction);
}
const argsOf = (instruction: Instruction) => instruction.getArguments().map((arg) => arg.getValue());
const copies = (stage: string) =>
  (stages.get(stage) ?? [])
    .filter((i) => i.getKeyword() === 'COPY')
    .map((i) => {
      const from = (i as Copy).getFlags().find((flag) => flag.getName() === 'from')?.getValue() ?? undefined;
      const paths = argsOf(i);
      return { from, sources: paths.slice(0, -1), target: paths.at(-1)! };
    });

/** Whether .dockerignore lets a path into the build context (it excludes everything, then re-includes by name). */
function inContext(path: string): boolean {
  const lines = readFileSync(join(repoRoot, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  assert.equal(lines[0], '*', '.dockerignore starts by excluding everything');
  return lines.slice(1).some((line) => line.startsWith('!') && (path === line.slice(1).replace(/\/$/, '') || path.startsWith(line.slice(1).replace(/\/?$/, '/'))));
}

describe('Dockerfile (checked statically: no Docker engine here)', () => {
  it('is multi-stage, and every COPY --from names an earlier stage', () => {
    assert.ok(stageNames.length >= 3 && stageNames.every(Boolean), `named stages: ${stageNames.join(', ')}`);
    for (const [index, stage] of stageNames.entries()) {
      for (const copy of copies(stage!)) {
        if (copy.from) assert.ok(stageNames.slice(0, index).includes(copy.from), `${stage}: COPY --from=${copy.from} names no earlier stage`);
      }
    }
  });

  it('copies only files that exist and that .dockerignore lets into the context', () => {
    for (const stage of stageNames) {
      for (const copy of copies(stage!).filter((c) => !c.from)) {
        for (const source of copy.sources) {
          assert.ok(existsSync(join(repoRoot, source)), `${stage}: COPY ${source}: no such file`);
          assert.ok(inContext(source.replace(/\/$/, '')), `${stage}: COPY ${source} is excluded by .dockerignore`);
        }
      }
    }
  });

  it('builds exactly the sources the tests compile: tsconfig.build.json is tsconfig.json without test/, and the build stage copies all of it', async () => {
    const { stdout } = await promisify(execFile)(join(repoRoot, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.build.json', '--listFilesOnly'], { cwd: repoRoot });
    const files = stdout.split('\n').map((f) => relative(repoRoot, f.trim())).filter((f) => f && !f.startsWith('node_modules') && !f.startsWith('..'));
    assert.ok(files.includes('src/main.ts') && files.includes('src/controller-main.ts'), 'both entry points are built');
    const build = stageNames.find((stage) => (stages.get(stage!) ?? []).some((i) => i.getKeyword() === 'RUN' && argsOf(i).join(' ').includes('tsconfig.build.json')));
    assert.ok(build, 'a stage runs the TypeScript build');
    const copied = copies(build!).flatMap((c) => c.sources);
    for (const file of files) assert.ok(copied.some((source) => file === source || file.startsWith(source.replace(/\/?$/, '/'))), `${file} is compiled but not copied into the build stage`);
    const base = JSON.parse(readFileSync(join(repoRoot, 'tsconfig.json'), 'utf8')) as { include: string[] };
    const buildConfig = JSON.parse(readFileSync(join(repoRoot, 'tsconfig.build.json'), 'utf8')) as { include: string[] };
    assert.deepEqual(buildConfig.include, base.include.filter((dir) => dir !== 'test'));
  });

  it('bundles the client libraries in the build stage, as `npm run build` does (decision 0013)', () => {
    const bundle = 'node tools/bundle-clients.mjs';
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    assert.ok(pkg.scripts.build!.includes(bundle), pkg.scripts.build);
    const runs = stageNames.flatMap((stage) => (stages.get(stage!) ?? []).filter((i) => i.getKeyword() === 'RUN').map((i) => argsOf(i).join(' ')));
    assert.ok(runs.some((run) => run.includes('tsconfig.build.json') && run.includes(bundle)), runs.join('\n'));
  });

  it('runs the server by default as a non-root user, with production dependencies only and no build tools', () => {
    const runtime = stages.get(finalStage!)!;
    const cmd = runtime.find((i) => i.getKeyword() === 'CMD')!;
    assert.deepEqual(JSON.parse(cmd.getArgumentsContent()!), ['node', 'dist/src/main.js'], 'the same entry point `npm start` runs');
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    assert.equal(pkg.scripts.start, 'node dist/src/main.js');
    assert.equal(pkg.scripts.controller, 'node dist/src/controller-main.js', 'the documented alternative command');
    const user = runtime.find((i) => i.getKeyword() === 'USER');
    assert.match(argsOf(user!)[0]!, /^[1-9]\d*(:[1-9]\d*)?$/, 'a numeric non-root USER, so runAsNonRoot can verify it');
    assert.deepEqual(runtime.filter((i) => i.getKeyword() === 'RUN'), [], 'the runtime stage installs nothing');
    const depsStage = copies(finalStage!).find((c) => c.sources.includes('/app/node_modules'))?.from;
    assert.ok(depsStage && (stages.get(depsStage) ?? []).some((i) => /npm ci --omit=dev/.test(argsOf(i).join(' '))), 'node_modules come from an npm ci --omit=dev stage');
    const deployment = parse(readFileSync(join(repoRoot, 'k8s-manifests', 'deployment.yaml'), 'utf8')) as { spec: { template: { spec: { securityContext: { runAsUser: number } } } } };
    assert.equal(String(deployment.spec.template.spec.securityContext.runAsUser), argsOf(user!)[0]!.split(':')[0], 'the Deployment runs as the image user');
  });

  it('carries the OCI labels and ships the files the default configuration reads', () => {
    const labels = (stages.get(finalStage!) ?? []).filter((i) => i.getKeyword() === 'LABEL').flatMap(argsOf).join(' ');
    for (const key of ['title', 'description', 'version', 'licenses']) assert.match(labels, new RegExp(`org\\.opencontainers\\.image\\.${key}=`));
    const shipped = copies(finalStage!).filter((c) => !c.from).flatMap((c) => c.sources);
    assert.ok(shipped.includes('server-config.yaml'));
    assert.ok(shipped.includes('package.json'), 'the server reads its supported Node releases (engines) from package.json at start-up');
    const config = parse(readFileSync(join(repoRoot, 'server-config.yaml'), 'utf8')) as { resources: Record<string, { processor: { env_files?: string[] } }> };
    for (const file of Object.values(config.resources).flatMap((r) => r.processor.env_files ?? [])) assert.ok(shipped.includes(file), `${file} (an env file of server-config.yaml) is in the image`);
  });

  it('runs on a Node release that package.json accepts (engines)', () => {
    const arg = instructions.find((i) => i.getKeyword() === 'ARG' && argsOf(i)[0]?.startsWith('NODE_IMAGE='));
    const major = /^NODE_IMAGE=node:(\d+)-/.exec(argsOf(arg!)[0]!)?.[1];
    assert.ok(major, 'NODE_IMAGE names an official node image by major version');
    const supported = supportedNodeRange();
    assert.ok(intersects(`${major}.x`, supported), `node:${major} is outside engines.node (${supported})`);
  });

  it('caps the young generation for both entry points (NODE_OPTIONS, since V8 takes it only at start-up)', () => {
    const env = (stages.get(finalStage!) ?? []).filter((i) => i.getKeyword() === 'ENV').flatMap(argsOf);
    assert.ok(env.includes('NODE_OPTIONS=--max-semi-space-size=8'), env.join(' '));
  });
});
