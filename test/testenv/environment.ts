import { KubeConfig } from '@kubernetes/client-node';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AMQP_BROKER_PACKAGE, amqpBrokerMissing, startAmqpBroker, type AmqpBroker } from './amqp-broker.js';
import { ensureBinaries } from './binaries.js';
import { createFakeNode, crdIsEstablished, defaultServiceAccountExists, fakeNodeName, installKwokLogsCrd, nodeIsReady } from './cluster-objects.js';
import {
  apiserverReady,
  apiserverSpec,
  componentHealthy,
  controllerManagerSpec,
  type ControlPlaneFiles,
  type ControlPlanePorts,
  etcdHealthy,
  etcdSpec,
  kwokSpec,
  schedulerSpec,
} from './control-plane.js';
import { TestEnvironmentError } from './errors.js';
import { writeAdminKubeconfig } from './kubeconfig.js';
import { kwokConfigYaml } from './kwok-stages.js';
import { defaultStateDir } from './paths.js';
import { generatePki } from './pki.js';
import { binderReadyLine, podLogBinderSpec } from './pod-log-binder-spec.js';
import { freePorts } from './ports.js';
import { logTail, runningServers, startServer, stopServers } from './processes.js';
import { realNodeMissing, realNodePackages, startRealNode, stopRealNode, type RealNodeConnection } from './real-node.js';
import { type S3Connection, startS3Server } from './s3-server.js';
import { waitForServer } from './server-readiness.js';

/** How to reach a running test environment; also what `<stateDir>/connection.json` holds. */
export interface TestEnvironment {
  /** Admin (system:masters) kubeconfig of the environment's API server. */
  kubeconfigPath: string;
  /** kubectl of the same Kubernetes version (with kustomize built in). */
  kubectl: string;
  /** Not set by the environment: tests create their own namespaces. */
  namespace?: string;
  s3: S3Connection;
  /** The node that runs real containers; unset when this machine cannot run one (then see realNodeMissing). */
  realNode?: RealNodeConnection;
  /** What this machine lacks for the real node (only outside CI: in CI a missing piece fails the start). */
  realNodeMissing?: string[];
  /** The RabbitMQ broker of the queue intake's suites; unset when this machine cannot run one (then see amqpMissing). */
  amqp?: AmqpBroker;
  /** What this machine lacks for the broker (only outside CI, like realNodeMissing). */
  amqpMissing?: string[];
  stateDir: string;
  connectionFile: string;
}

export interface StartOptions {
  /** Where servers keep data, logs, pids and PKI; default `<repo>/.testenv/`. */
  stateDir?: string;
  /** Progress lines (build progress on a cold cache, then start-up steps); default: stderr. */
  log?: (line: string) => void;
}

/** Stop order: the API server's clients first, then the API server, etcd last. */
const stopOrder = [['kwok', 'kube-scheduler', 'kube-controller-manager', 'pod-log-binder', 'versitygw', 'rabbitmq'], ['kube-apiserver', 'epmd'], ['etcd']];

/** What a fresh start replaces in the state dir (nothing else there is touched). */
const stateEntries = ['etcd', 's3', 'pki', 'logs', 'pids', 'pod-logs', 'kubeconfig', 'kwok.yaml', 'connection.json', 'amqp'];

/**
 * The real node runs where it can. In CI a machine that cannot run it fails the start (the suites that
 * need it would otherwise skip); elsewhere the start goes on without it and says loudly what is missing.
 */
function realNodePlan(log: (line: string) => void): string[] {
  const missing = realNodeMissing();
  if (missing.length === 0) return missing;
  const what = `the real node (real containers) cannot run here: missing ${missing.join('; ')}. On Debian: apt-get install ${realNodePackages}`;
  if (process.env.CI) throw new TestEnvironmentError(what);
  log(`[testenv] WARNING: ${what}. The suites that need real containers will be SKIPPED.`);
  return missing;
}

/**
 * Starts etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok (fake kubelet with one node),
 * a real node (containerd and kubelet, see real-node.ts) and versitygw (S3) on free loopback ports, waits until each is ready, and writes `<stateDir>/connection.json`.
 * The servers run detached: they outlive this process until stopTestEnvironment(stateDir).
 */
export async function startTestEnvironment(opts: StartOptions = {}): Promise<TestEnvironment> {
  const stateDir = resolve(opts.stateDir ?? defaultStateDir);
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const began = Date.now();
  const running = runningServers(stateDir);
  if (running.length > 0) {
    throw new TestEnvironmentError(`a test environment already runs in ${stateDir} (${running.join(', ')}); stop it first: npm run testenv:down`);
  }
  const realNodeLacks = realNodePlan(log);
  const amqpLacks = amqpBrokerMissing();
  if (amqpLacks.length > 0) {
    const what = `the AMQP broker cannot run here: missing ${amqpLacks.join('; ')}. On Debian: apt-get install ${AMQP_BROKER_PACKAGE}`;
    if (process.env.CI) throw new TestEnvironmentError(what);
    log(`[testenv] WARNING: ${what}. The queue intake suites will FAIL.`);
  }
  await stopRealNode(stateDir); // what a crashed run left on the host
  for (const entry of stateEntries) rmSync(join(stateDir, entry), { recursive: true, force: true });
  mkdirSync(stateDir, { recursive: true });

  const [bin, pki, portList] = await Promise.all([ensureBinaries(log), generatePki(join(stateDir, 'pki')), freePorts(7)]);
  const [etcdClient, etcdPeer, apiserver, controllerManager, scheduler, kwok, s3Port] = portList as [number, number, number, number, number, number, number];
  const ports: ControlPlanePorts = { etcdClient, etcdPeer, apiserver, controllerManager, scheduler, kwok };
  const podLogDir = join(stateDir, 'pod-logs');
  const defaultLogFile = join(podLogDir, 'default.log');
  const files: ControlPlaneFiles = {
    pki,
    kubeconfig: join(stateDir, 'kubeconfig'),
    etcdDataDir: join(stateDir, 'etcd'),
    kwokConfig: join(stateDir, 'kwok.yaml'),
  };
  writeAdminKubeconfig(files.kubeconfig, `https://127.0.0.1:${apiserver}`, pki);
  mkdirSync(podLogDir, { recursive: true });
  writeFileSync(defaultLogFile, ''); // a pod that asks for no log has an empty one, like a silent container
  writeFileSync(files.kwokConfig, kwokConfigYaml(defaultLogFile));

  try {
    log(`[testenv] starting etcd, S3${amqpLacks.length ? '' : ', the AMQP broker'}`);
    const s3Started = startS3Server(stateDir, bin, s3Port);
    s3Started.catch(() => undefined); // awaited below; this keeps an early failure from being "unhandled"
    const amqpStarted = amqpLacks.length ? undefined : startAmqpBroker(stateDir);
    amqpStarted?.catch(() => undefined);
    const etcd = startServer(stateDir, etcdSpec(bin, ports, files));
    await waitForServer(etcd, 'etcd /health', () => etcdHealthy(ports), 20_000);

    log('[testenv] starting kube-apiserver');
    const apiserverProcess = startServer(stateDir, apiserverSpec(bin, ports, files));
    await waitForServer(apiserverProcess, 'kube-apiserver /readyz', () => apiserverReady(ports, pki), 90_000);
    const kc = new KubeConfig();
    kc.loadFromFile(files.kubeconfig);

    log(`[testenv] starting kube-controller-manager, kube-scheduler, kwok${realNodeLacks.length ? '' : ', the real node (containerd, kubelet)'}`);
    const realNodeStarted = realNodeLacks.length ? undefined : startRealNode(stateDir, bin, pki, files.kubeconfig, kc);
    realNodeStarted?.catch(() => undefined); // awaited below; this keeps an early failure from being "unhandled"
    const controllerManagerProcess = startServer(stateDir, controllerManagerSpec(bin, ports, files));
    const schedulerProcess = startServer(stateDir, schedulerSpec(bin, ports, files));
    const binder = startServer(stateDir, podLogBinderSpec(files.kubeconfig, podLogDir));
    await Promise.all([installKwokLogsCrd(kc), createFakeNode(kc)]);
    await waitForServer(apiserverProcess, 'the kwok Logs CRD to be established', () => crdIsEstablished(kc, 'logs.kwok.x-k8s.io'), 15_000);
    const kwokProcess = startServer(stateDir, kwokSpec(bin, ports, files));

    await Promise.all([
      waitForServer(kwokProcess, `node ${fakeNodeName} to be Ready`, () => nodeIsReady(kc), 30_000),
      waitForServer(controllerManagerProcess, 'kube-controller-manager /healthz', () => componentHealthy(controllerManager), 30_000).then(() =>
        waitForServer(controllerManagerProcess, 'the default ServiceAccount in namespace default', () => defaultServiceAccountExists(kc), 30_000),
      ),
      waitForServer(schedulerProcess, 'kube-scheduler /healthz', () => componentHealthy(scheduler), 30_000),
      waitForServer(binder, 'the pod-log binder to watch pods', async () => logTail(binder.logFile).includes(binderReadyLine), 20_000),
      s3Started,
      realNodeStarted,
      amqpStarted,
    ]);
    const amqp = await amqpStarted;
    const { s3 } = await s3Started;
    const realNode = await realNodeStarted;

    const connectionFile = join(stateDir, 'connection.json');
    const environment: TestEnvironment = {
      kubeconfigPath: files.kubeconfig,
      kubectl: bin.kubectl,
      s3,
      ...(realNode ? { realNode } : { realNodeMissing: realNodeLacks }),
      ...(amqp ? { amqp } : { amqpMissing: amqpLacks }),
      stateDir,
      connectionFile,
    };
    writeFileSync(connectionFile, `${JSON.stringify(environment, null, 2)}\n`, { mode: 0o600 });
    log(`[testenv] ready in ${((Date.now() - began) / 1000).toFixed(1)} s; connection details: ${connectionFile}`);
    return environment;
  } catch (error) {
    await stopRealNode(stateDir).catch(() => undefined);
    await stopServers(stateDir, stopOrder).catch(() => undefined);
    throw error;
  }
}

/** Stops every server recorded in the state dir (also ones another process started) and waits until they exit. */
export async function stopTestEnvironment(stateDir: string = defaultStateDir): Promise<void> {
  const dir = resolve(stateDir);
  await stopRealNode(dir); // while the API server still runs
  await stopServers(dir, stopOrder);
  rmSync(join(dir, 'connection.json'), { force: true });
}
