import { readFileSync } from 'node:fs';
import type { Binaries } from './binaries.js';
import { httpGet } from './http-probe.js';
import type { Pki } from './pki.js';
import type { ServerSpec } from './processes.js';

/** Ports chosen at start; everything listens on 127.0.0.1 only. */
export interface ControlPlanePorts {
  etcdClient: number;
  etcdPeer: number;
  apiserver: number;
  controllerManager: number;
  scheduler: number;
  kwok: number;
}

export interface ControlPlaneFiles {
  pki: Pki;
  kubeconfig: string;
  etcdDataDir: string;
  kwokConfig: string;
}

const loopback = '127.0.0.1';
// Leader election is off: each component runs once, and renewing leases would only cost CPU on a small machine.
const componentServing = (port: number, kubeconfig: string) => [
  `--kubeconfig=${kubeconfig}`,
  // no delegated authentication: only the health endpoints are used, and they are always allowed
  '--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics',
  `--bind-address=${loopback}`,
  `--secure-port=${port}`,
  '--leader-elect=false',
];

export function etcdSpec(bin: Binaries, ports: ControlPlanePorts, files: ControlPlaneFiles): ServerSpec {
  const client = `http://${loopback}:${ports.etcdClient}`;
  const peer = `http://${loopback}:${ports.etcdPeer}`;
  return {
    name: 'etcd',
    command: bin.etcd,
    args: [
      '--name=testenv',
      `--data-dir=${files.etcdDataDir}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=testenv=${peer}`,
      // test data is thrown away: skipping fsync makes every write much faster
      '--unsafe-no-fsync=true',
      '--listen-metrics-urls=',
    ],
  };
}

export function apiserverSpec(bin: Binaries, ports: ControlPlanePorts, files: ControlPlaneFiles): ServerSpec {
  const { pki } = files;
  return {
    name: 'kube-apiserver',
    command: bin.kubeApiserver,
    args: [
      `--etcd-servers=http://${loopback}:${ports.etcdClient}`,
      `--bind-address=${loopback}`,
      `--advertise-address=${loopback}`,
      `--secure-port=${ports.apiserver}`,
      `--tls-cert-file=${pki.adminCert}`,
      `--tls-private-key-file=${pki.adminKey}`,
      `--client-ca-file=${pki.caCert}`,
      '--authorization-mode=Node,RBAC',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${pki.serviceAccountPublicKey}`,
      `--service-account-signing-key-file=${pki.serviceAccountKey}`,
      '--service-cluster-ip-range=10.96.0.0/16',
      // the `kubernetes` Service cannot point at a loopback address, so it gets no endpoints
      '--endpoint-reconciler-type=none',
      '--allow-privileged=true',
      // kwok serves the kubelet API (pods/log) on the node's InternalIP, 127.0.0.1
      '--kubelet-preferred-address-types=InternalIP',
      `--kubelet-client-certificate=${pki.adminCert}`,
      `--kubelet-client-key=${pki.adminKey}`,
      // request throttling protects real clusters from overload; here it would only slow tests down
      '--enable-priority-and-fairness=false',
      '--max-requests-inflight=0',
      '--max-mutating-requests-inflight=0',
      '--profiling=false',
    ],
  };
}

export function controllerManagerSpec(bin: Binaries, ports: ControlPlanePorts, files: ControlPlaneFiles): ServerSpec {
  return {
    name: 'kube-controller-manager',
    command: bin.kubeControllerManager,
    args: [
      ...componentServing(ports.controllerManager, files.kubeconfig),
      // each controller acts as its own service account, so RBAC applies to controllers as in a real cluster
      '--use-service-account-credentials=true',
      `--service-account-private-key-file=${files.pki.serviceAccountKey}`,
      `--root-ca-file=${files.pki.caCert}`,
      `--cluster-signing-cert-file=${files.pki.caCert}`,
      `--cluster-signing-key-file=${files.pki.caKey}`,
      '--kube-api-qps=500',
      '--kube-api-burst=1000',
      '--profiling=false',
    ],
  };
}

export function schedulerSpec(bin: Binaries, ports: ControlPlanePorts, files: ControlPlaneFiles): ServerSpec {
  return {
    name: 'kube-scheduler',
    command: bin.kubeScheduler,
    args: [...componentServing(ports.scheduler, files.kubeconfig), '--profiling=false'],
  };
}

export function kwokSpec(bin: Binaries, ports: ControlPlanePorts, files: ControlPlaneFiles): ServerSpec {
  return {
    name: 'kwok',
    command: bin.kwok,
    args: [
      `--kubeconfig=${files.kubeconfig}`,
      `--config=${files.kwokConfig}`,
      // only the fake node: given every node, kwok would take over the real one and fake its pods
      '--manage-nodes-with-label-selector=type=kwok',
      `--node-ip=${loopback}`,
      `--node-port=${ports.kwok}`,
      `--server-address=${loopback}:${ports.kwok}`,
      `--tls-cert-file=${files.pki.adminCert}`,
      `--tls-private-key-file=${files.pki.adminKey}`,
      // kwok renews each node's Lease, which is how the node controller judges node health
      '--node-lease-duration-seconds=40',
      // fake pod IPs (never routed); a /16 so a few hundred pods never exhaust the pool
      '--cidr=10.244.0.0/16',
      // per-pod logs (kind Logs) are read from the API, so they can be added while kwok runs
      '--enable-crds=Logs',
    ],
  };
}

export const etcdHealthy = async (ports: ControlPlanePorts) =>
  (await httpGet(`http://${loopback}:${ports.etcdClient}/health`)).body.includes('"health":"true"');

export const apiserverReady = async (ports: ControlPlanePorts, pki: Pki) => {
  const tls = { ca: readFileSync(pki.caCert), cert: readFileSync(pki.adminCert), key: readFileSync(pki.adminKey) };
  const { status, body } = await httpGet(`https://${loopback}:${ports.apiserver}/readyz`, tls);
  if (status !== 200) throw new Error(`/readyz answered ${status}: ${body.slice(0, 300)}`);
  return true;
};

/** kube-controller-manager and kube-scheduler serve /healthz with a self-signed certificate they make at start. */
export const componentHealthy = async (port: number) => {
  const { status, body } = await httpGet(`https://${loopback}:${port}/healthz`, { rejectUnauthorized: false });
  if (status !== 200) throw new Error(`/healthz answered ${status}: ${body.slice(0, 300)}`);
  return true;
};
