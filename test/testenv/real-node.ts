import { CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, closeSync, constants, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import type { Binaries } from './binaries.js';
import { busyboxRoot, packImage, singleProgramRoot, stagerRoot } from './images.js';
import { repoRoot } from './paths.js';
import type { Pki } from './pki.js';
import { freePorts } from './ports.js';
import { startServer, stopNamedServers } from './processes.js';
import { waitForServer } from './server-readiness.js';

const run = promisify(execFile);

/** How tests reach the real node: pods need its node selector and toleration, and its local images. */
export interface RealNodeConnection {
  name: string;
  nodeSelector: Record<string, string>;
  toleration: { key: string; operator: 'Exists'; effect: 'NoSchedule' };
  /** Images present on the node (run them with imagePullPolicy: Never); `stager` stands in for the server's image. */
  images: { busybox: string; stager: string };
  /** containerd's socket, to look at containers behind the API server's back (`ctr --address`). */
  containerdSocket: string;
}

const realNode: Omit<RealNodeConnection, 'containerdSocket'> = {
  name: 'testenv-real-0',
  nodeSelector: { type: 'real' },
  // Only pods meant for real containers land there; the kwok scenarios stay on the fake node.
  toleration: { key: 'ogcapi.testenv/real-node', operator: 'Exists', effect: 'NoSchedule' },
  images: { busybox: 'localhost/testenv/busybox:1', stager: 'localhost/testenv/stager:1' },
};
const pauseImage = 'localhost/testenv/pause:1';

/** Host paths containerd 1.6 and kubelet write whatever their configured roots say; removed at stop if we made them. */
const hostPaths = ['/run/containerd', '/var/lib/cni', '/var/log/containers', '/run/netns', '/var/lib/kubelet'];
const cniPlugins = ['bridge', 'host-local', 'loopback'];
const cniBinDir = '/usr/lib/cni';
const cgroupRoot = '/sys/fs/cgroup';

/** The Debian packages that provide what the node needs (`.ci/run` installs them). */
export const realNodePackages = 'containerd runc containernetworking-plugins busybox-static';

const nodeDir = (stateDir: string) => join(stateDir, 'real-node');

/** Names of one state dir's node objects on the host (cgroup parent, bridge), so two state dirs never share them. */
function hostNames(stateDir: string) {
  const id = createHash('sha256').update(nodeDir(stateDir)).digest('hex').slice(0, 8);
  return { cgroup: `ogcapi-testenv-${id}`, bridge: `ogt${id}` };
}

/**
 * What this machine lacks to run real containers; empty when nothing is missing. The node needs
 * Linux as root, containerd, runc and the CNI plugins, a static busybox for the test images,
 * overlayfs, and cgroup v1 (the kind this launcher sets up).
 */
export function realNodeMissing(): string[] {
  const missing: string[] = [];
  if (process.platform !== 'linux') return [`Linux (this is ${process.platform})`];
  if (process.getuid?.() !== 0) missing.push('root (containerd and kubelet manage mounts, cgroups and network namespaces)');
  for (const command of ['containerd', 'runc', 'ctr']) if (!onPath(command)) missing.push(`the ${command} command`);
  for (const plugin of cniPlugins) if (!existsSync(join(cniBinDir, plugin))) missing.push(`the CNI plugin ${join(cniBinDir, plugin)}`);
  if (!isStaticProgram('/bin/busybox')) missing.push('a static /bin/busybox (Debian busybox-static) for the test images');
  if (!readFileSync('/proc/filesystems', 'utf8').includes('overlay')) missing.push('the overlay file system');
  if (!existsSync(join(cgroupRoot, 'memory', 'memory.limit_in_bytes'))) missing.push('cgroup v1 with the memory controller at /sys/fs/cgroup/memory');
  return missing;
}

function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** A program with no dynamic loader named in its first page (images carry no libraries). */
function isStaticProgram(path: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const head = Buffer.alloc(4096);
    readSync(fd, head, 0, head.length, 0);
    return head.subarray(0, 4).toString('latin1') === '\x7fELF' && !head.includes('ld-linux');
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Starts containerd and a kubelet registered to the environment's API server as node `realNode.name`
 * (label `type: real`, tainted), with the images tests run imported. Everything it keeps is under
 * `<stateDir>/real-node/`, except the host paths containerd and kubelet insist on (`hostPaths`), which
 * stopRealNode removes again. Pods on the node's bridge network reach only each other.
 */
export async function startRealNode(stateDir: string, bin: Binaries, pki: Pki, kubeconfig: string, kc: KubeConfig): Promise<RealNodeConnection> {
  const dir = nodeDir(stateDir);
  const names = hostNames(stateDir);
  const paths = {
    socket: join(dir, 'containerd', 'containerd.sock'),
    containerdConfig: join(dir, 'containerd', 'config.toml'),
    cniConf: join(dir, 'cni', 'net.d'),
    cniIpam: join(dir, 'cni', 'ipam'),
    kubeletConfig: join(dir, 'kubelet', 'config.yaml'),
    resolvConf: join(dir, 'resolv.conf'),
    images: join(dir, 'images'),
  };
  for (const path of [join(dir, 'containerd'), paths.cniConf, paths.cniIpam, join(dir, 'kubelet', 'pki'), paths.images, join(dir, 'pod-logs'), join(dir, 'volume-plugins')]) {
    mkdirSync(path, { recursive: true });
  }
  writeFileSync(join(dir, 'host-paths-before.json'), JSON.stringify({ paths: hostPaths.filter((p) => existsSync(p)), netns: listDir('/run/netns') }));

  const images = await Promise.all([
    packImage(pauseImage, singleProgramRoot(join(paths.images, 'pause-root'), bin.pause, 'pause'), join(paths.images, 'pause.tar'), ['/pause']),
    busyboxRoot(join(paths.images, 'busybox-root'), '/bin/busybox').then((root) => packImage(realNode.images.busybox, root, join(paths.images, 'busybox.tar'), ['sh'])),
    stagerRoot(join(paths.images, 'stager-root'), process.execPath, join(repoRoot, 'dist', 'src')).then((root) =>
      packImage(realNode.images.stager, root, join(paths.images, 'stager.tar'), ['node', '/app/dist/src/staging/stage.js'])),
  ]);

  writeFileSync(paths.containerdConfig, containerdConfig(dir, paths));
  writeFileSync(join(paths.cniConf, '10-testenv.conflist'), JSON.stringify(cniConfig(names.bridge, paths.cniIpam), null, 2));
  const containerd = startServer(stateDir, { name: 'containerd', command: 'containerd', args: ['--config', paths.containerdConfig] });
  await waitForServer(containerd, 'containerd to answer on its socket', () => ctr(paths.socket, 'version').then(() => true), 20_000);
  for (const image of images) await ctr(paths.socket, 'images', 'import', image.archive);

  makeCgroupParent(names.cgroup);
  const [port, healthzPort] = await freePorts(2) as [number, number];
  writeFileSync(paths.resolvConf, 'nameserver 127.0.0.1\n'); // no DNS: nothing outside is reachable
  writeFileSync(paths.kubeletConfig, kubeletConfig({ port, healthzPort, caCert: pki.caCert, socket: paths.socket, cgroup: names.cgroup, dir, resolvConf: paths.resolvConf }));
  const kubelet = startServer(stateDir, {
    name: 'kubelet',
    command: bin.kubelet,
    args: [
      `--config=${paths.kubeletConfig}`,
      `--kubeconfig=${kubeconfig}`,
      `--root-dir=${join(dir, 'kubelet', 'root')}`,
      `--cert-dir=${join(dir, 'kubelet', 'pki')}`,
      `--hostname-override=${realNode.name}`,
      // refused as loopback, which also keeps kubelet from setting the host's own address (patched below)
      '--node-ip=127.0.0.1',
      `--node-labels=${Object.entries({ ...realNode.nodeSelector, 'kubernetes.io/hostname': realNode.name }).map(([k, v]) => `${k}=${v}`).join(',')}`,
      `--register-with-taints=${realNode.toleration.key}=true:${realNode.toleration.effect}`,
    ],
  });
  const core = kc.makeApiClient(CoreV1Api);
  await waitForServer(kubelet, `node ${realNode.name} to register`, () => core.readNode({ name: realNode.name }).then(() => true), 60_000);
  // kubelet refuses a loopback node IP ("nodeIP can't be loopback address") and then leaves the addresses
  // alone, so set the one the API server calls it on (logs, exec) once; it stays.
  await core.patchNodeStatus(
    { name: realNode.name, body: { status: { addresses: [{ type: 'InternalIP', address: '127.0.0.1' }, { type: 'Hostname', address: realNode.name }] } } },
    mergePatch,
  );
  await waitForServer(kubelet, `node ${realNode.name} to be Ready`, async () => {
    const node = await core.readNode({ name: realNode.name });
    return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  }, 60_000);
  return { ...realNode, containerdSocket: paths.socket };
}

/**
 * Stops the node of a state dir and removes what it left on the host: kubelet first (so nothing is
 * restarted), then every container (through containerd, then by cgroup for any that outlived it),
 * containerd, the mounts under the node's folder, the pods' network namespaces and bridge, its cgroups,
 * and the host paths it created. Safe to call when no node ran.
 */
export async function stopRealNode(stateDir: string): Promise<void> {
  const dir = nodeDir(stateDir);
  if (!existsSync(dir)) return;
  const names = hostNames(stateDir);
  const socket = join(dir, 'containerd', 'containerd.sock');
  await stopNamedServers(stateDir, ['kubelet']);
  if (existsSync(socket)) {
    const tasks = await ctr(socket, 'tasks', 'ls', '-q').then((out) => out.split('\n').filter(Boolean), () => []);
    for (const task of tasks) await ctr(socket, 'tasks', 'kill', '-s', 'SIGKILL', task).catch(() => undefined);
    for (const task of tasks) await ctr(socket, 'tasks', 'delete', '-f', task).catch(() => undefined);
  }
  killCgroupProcesses(names.cgroup);
  await stopNamedServers(stateDir, ['containerd']);
  killShimsOf(socket); // each container's shim outlives containerd

  for (const mount of mountsUnder(dir)) await run('umount', [mount]).catch(() => run('umount', ['-l', mount])).catch(() => undefined);
  const before = hostPathsBefore(dir);
  for (const netns of listDir('/run/netns').filter((name) => name.startsWith('cni-') && !before.netns.includes(name))) {
    await run('umount', [join('/run/netns', netns)]).catch(() => undefined);
    rmSync(join('/run/netns', netns), { force: true });
  }
  await run('ip', ['link', 'delete', names.bridge]).catch(() => undefined);
  removeCgroupParent(names.cgroup);
  for (const path of hostPaths.filter((p) => !before.paths.includes(p))) {
    if (mountsUnder(path).length === 0) rmSync(path, { recursive: true, force: true });
  }
  rmSync(dir, { recursive: true, force: true });
}

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** What existed on the host before the node started; unknown (a start that died early): all of it, so nothing is removed. */
function hostPathsBefore(dir: string): { paths: string[]; netns: string[] } {
  try {
    return JSON.parse(readFileSync(join(dir, 'host-paths-before.json'), 'utf8')) as { paths: string[]; netns: string[] };
  } catch {
    return { paths: hostPaths, netns: listDir('/run/netns') };
  }
}

async function ctr(socket: string, ...args: string[]): Promise<string> {
  return (await run('ctr', ['--address', socket, '--namespace', 'k8s.io', ...args], { maxBuffer: 4 * 1024 * 1024 })).stdout;
}

function listDir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

/** Mount points at or under `path`, deepest first. */
function mountsUnder(path: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4]?.replace(/\\040/g, ' '))
    .filter((mount): mount is string => mount !== undefined && (mount === path || mount.startsWith(`${path}/`)))
    .sort((a, b) => b.length - a.length);
}

/** The v1 hierarchies (the empty cgroup2 `unified` mount of a hybrid layout is not one). */
const hierarchies = () => listDir(cgroupRoot).filter((name) => name !== 'unified' && existsSync(join(cgroupRoot, name, 'cgroup.procs')));

/** One parent cgroup in each hierarchy; kubelet makes its kubepods tree under it (cgroupRoot). */
function makeCgroupParent(parent: string): void {
  for (const hierarchy of hierarchies()) {
    const path = join(cgroupRoot, hierarchy, parent);
    mkdirSync(path, { recursive: true });
    if (existsSync(join(cgroupRoot, hierarchy, 'cpuset.cpus'))) {
      // a new cpuset cgroup starts with no CPUs and no memory nodes: give it its parent's
      writeFileSync(join(path, 'cpuset.cpus'), readFileSync(join(cgroupRoot, hierarchy, 'cpuset.cpus')));
      writeFileSync(join(path, 'cpuset.mems'), readFileSync(join(cgroupRoot, hierarchy, 'cpuset.mems')));
    }
  }
}

/** The cgroup and every one below it, children first. */
function cgroupTree(path: string): string[] {
  const children = listDir(path).filter((entry) => existsSync(join(path, entry, 'cgroup.procs')));
  return [...children.flatMap((child) => cgroupTree(join(path, child))), path];
}

function killCgroupProcesses(parent: string): void {
  const tree = existsSync(join(cgroupRoot, 'pids', parent)) ? cgroupTree(join(cgroupRoot, 'pids', parent)) : [];
  for (const cgroup of tree) {
    for (const pid of readFileSync(join(cgroup, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

function removeCgroupParent(parent: string): void {
  for (const hierarchy of hierarchies()) {
    const path = join(cgroupRoot, hierarchy, parent);
    if (!existsSync(path)) continue;
    for (const cgroup of cgroupTree(path)) {
      try {
        rmdirSync(cgroup);
      } catch {
        // a process that has not died yet keeps it; the next stop removes it
      }
    }
  }
}

function killShimsOf(socket: string): void {
  for (const pid of listDir('/proc').filter((entry) => /^\d+$/.test(entry))) {
    let cmdline: string[];
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (cmdline[0]?.includes('containerd-shim') && cmdline.includes(socket)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

function containerdConfig(dir: string, paths: { socket: string; cniConf: string }): string {
  return `version = 2
root = "${join(dir, 'containerd', 'root')}"
state = "${join(dir, 'containerd', 'state')}"
[grpc]
  address = "${paths.socket}"
[plugins."io.containerd.internal.v1.opt"]
  path = "${join(dir, 'containerd', 'opt')}"
[plugins."io.containerd.grpc.v1.cri"]
  # the upstream default pause image cannot be pulled here; ours is imported at start
  sandbox_image = "${pauseImage}"
  # root here lacks CAP_SYS_RESOURCE, so runc cannot lower oom_score_adj to the -998 containerd asks for
  # pod sandboxes ("failed to update /proc/self/oom_score_adj: Permission denied"); clamp it to containerd's own
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "${cniBinDir}"
    conf_dir = "${paths.cniConf}"
`;
}

/** A bridge with no address on the host side, no gateway and no masquerading: pods reach only each other. */
function cniConfig(bridge: string, ipamDir: string) {
  return {
    cniVersion: '0.4.0',
    name: 'testenv',
    plugins: [{ type: 'bridge', bridge, isGateway: false, ipMasq: false, ipam: { type: 'host-local', dataDir: ipamDir, ranges: [[{ subnet: '10.88.0.0/16' }]] } }],
  };
}

function kubeletConfig(o: { port: number; healthzPort: number; caCert: string; socket: string; cgroup: string; dir: string; resolvConf: string }): string {
  return `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: ${o.port}
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: ${o.healthzPort}
# the API server calls kubelet (logs) with the admin client certificate of the environment's CA
authentication: {anonymous: {enabled: false}, webhook: {enabled: false}, x509: {clientCAFile: "${o.caCert}"}}
authorization: {mode: AlwaysAllow}
containerRuntimeEndpoint: unix://${o.socket}
cgroupDriver: cgroupfs
cgroupRoot: /${o.cgroup}
failCgroupV1: false
failSwapOn: false
resolvConf: ${o.resolvConf}
podLogsDir: ${join(o.dir, 'pod-logs')}
volumePluginDir: ${join(o.dir, 'volume-plugins')}
serializeImagePulls: false
# a log is archived whole only if kubelet has not rotated it away first (the default rotates at 10 MiB)
containerLogMaxSize: 4Gi
# a shared machine: never evict test pods for the host's disk or memory use, never collect our images
evictionHard: {memory.available: "50Mi", nodefs.available: "1%", imagefs.available: "1%"}
imageGCHighThresholdPercent: 100
nodeStatusUpdateFrequency: 4s
syncFrequency: 5s
`;
}

/**
 * server-config.yaml lines for a GenericImageProcessor process whose pods run on the real node:
 * `script` is the shell program of the busybox image (or `image`, pulled if not present);
 * `options` are more processor options, one per line.
 */
export function realNodeProcess(node: RealNodeConnection, id: string, script: string, options: { image?: string; command?: string[]; options?: string[]; metadata?: string } = {}): string {
  return [
    `  ${id}:`,
    '    type: process',
    '    processor:',
    '      name: GenericImageProcessor',
    `      image: ${options.image ?? node.images.busybox}`,
    `      image_pull_policy: ${options.image ? 'IfNotPresent' : 'Never'}`,
    `      node_selector: ${JSON.stringify(node.nodeSelector)}`,
    `      tolerations: [${JSON.stringify(node.toleration)}]`,
    `      command: ${JSON.stringify([...(options.command ?? ['sh', '-c']), script])}`,
    ...(options.options ?? []).map((line) => `      ${line}`),
    `      metadata: ${options.metadata ?? `{title: ${id}}`}`,
  ].join('\n');
}
