import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { TestEnvironmentError } from './errors.js';
import { repoRoot } from './paths.js';

/** Absolute paths of the executables the environment runs. */
export interface Binaries {
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubeScheduler: string;
  kubectl: string;
  kwok: string;
  versitygw: string;
  /** The real node's kubelet (same Kubernetes version as the control plane). */
  kubelet: string;
  /** The real node's pod sandbox program, packed into its pause image. */
  pause: string;
}

const buildScript = () => join(repoRoot, 'tools', 'testenv', 'build.sh');

/**
 * Runs tools/testenv/build.sh, which builds each server once per pinned version into the user cache
 * (instant when cached; a cold build takes tens of minutes), and returns where the binaries are.
 * Its progress lines (stderr) go to `log`.
 */
export async function ensureBinaries(log: (line: string) => void): Promise<Binaries> {
  const child = spawn('bash', [buildScript()], { stdio: ['ignore', 'pipe', 'pipe'] });
  const dirs = new Map<string, string>();
  createInterface({ input: child.stdout }).on('line', (line) => {
    const eq = line.indexOf('=');
    if (eq > 0) dirs.set(line.slice(0, eq), line.slice(eq + 1));
  });
  const stderrTail: string[] = [];
  createInterface({ input: child.stderr }).on('line', (line) => {
    stderrTail.push(line);
    if (stderrTail.length > 20) stderrTail.shift();
    log(line);
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (code !== 0) {
    throw new TestEnvironmentError(
      `${buildScript()} failed (exit ${code}); run \`npm run testenv:build\` to see the whole output.\n${stderrTail.join('\n')}`,
    );
  }
  const dir = (component: string) => {
    const found = dirs.get(component);
    if (!found) throw new TestEnvironmentError(`${buildScript()} printed no directory for ${component}`);
    return found;
  };
  return {
    etcd: join(dir('etcd'), 'etcd'),
    kubeApiserver: join(dir('k8s'), 'kube-apiserver'),
    kubeControllerManager: join(dir('k8s'), 'kube-controller-manager'),
    kubeScheduler: join(dir('k8s'), 'kube-scheduler'),
    kubectl: join(dir('k8s'), 'kubectl'),
    kwok: join(dir('kwok'), 'kwok'),
    versitygw: join(dir('versitygw'), 'versitygw'),
    kubelet: join(dir('kubelet'), 'kubelet'),
    pause: join(dir('pause'), 'pause'),
  };
}
