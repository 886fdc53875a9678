import { stringify } from 'yaml';
import { PodAnnotations as A, unpullableImageMarker } from './annotations.js';

/**
 * The kwok configuration: Stages (how fake nodes and pods change over time) and the default ClusterLogs.
 * Written for this project (not kwok's defaults): kwok's default "fast" pod-delete strips every finalizer,
 * which would hide bugs in code that relies on finalizers, so pods here are only deleted once their
 * finalizers are gone. Stage selectors are mutually exclusive, so kwok never picks one at random.
 */

/** Resources of each fake node: room for a few hundred pods, including GPU ones. */
export const fakeNodeCapacity = { cpu: '1000', memory: '1000Gi', pods: '1000', 'nvidia.com/gpu': '8' };

const annotation = (key: string) => `.metadata.annotations["${key}"]`;
const jq = (key: string, operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist', values?: string[]) => ({
  jq: values ? { key, operator, values } : { key, operator },
});

const notDeleted = jq('.metadata.deletionTimestamp', 'DoesNotExist');
const deleted = jq('.metadata.deletionTimestamp', 'Exists');
const notStarted = jq('.status.containerStatuses', 'DoesNotExist');
const stuckKey = `(${annotation(A.stuck)} != null) or ([.spec.containers[].image | contains("${unpullableImageMarker}")] | any)`;
// a pod that asks for a log waits until the environment has put that log in place
const logReadyKey = `(${annotation(A.log)} == null) or (${annotation(A.logReady)} != null)`;

const statusPatch = (template: string) => ({ subresource: 'status', root: 'status', template });

const stage = (name: string, kind: 'Node' | 'Pod', spec: Record<string, unknown>) => ({
  apiVersion: 'kwok.x-k8s.io/v1alpha1',
  kind: 'Stage',
  metadata: { name },
  spec: { resourceRef: { apiGroup: 'v1', kind }, ...spec },
});

// the conditions never change, so they have been in their state since the node was created
const nodeConditions = `
conditions:
{{ range NodeConditions }}
- lastHeartbeatTime: {{ Now | Quote }}
  lastTransitionTime: {{ or $.metadata.creationTimestamp Now | Quote }}
  message: {{ .message | Quote }}
  reason: {{ .reason | Quote }}
  status: {{ .status | Quote }}
  type: {{ .type | Quote }}
{{ end }}`;

const capacity = Object.entries(fakeNodeCapacity).map(([k, v]) => `  ${k}: "${v}"`).join('\n');

const nodeInitialize = stage('testenv-node-initialize', 'Node', {
  selector: { matchExpressions: [jq('.status.conditions[]? | select(.type == "Ready") | .status', 'NotIn', ['True'])] },
  next: {
    patches: [statusPatch(`${nodeConditions}
addresses:
- address: {{ NodeIP | Quote }}
  type: InternalIP
- address: {{ .metadata.name | Quote }}
  type: Hostname
daemonEndpoints:
  kubeletEndpoint:
    Port: {{ NodePort }}
capacity:
${capacity}
allocatable:
${capacity}
nodeInfo:
  architecture: amd64
  operatingSystem: linux
  kubeletVersion: {{ printf "kwok-%s" Version | Quote }}
  kubeProxyVersion: {{ printf "kwok-%s" Version | Quote }}
  containerRuntimeVersion: {{ printf "kwok-%s" Version | Quote }}
  kernelVersion: {{ printf "kwok-%s" Version | Quote }}
  bootID: ""
  machineID: ""
  osImage: ""
  systemUUID: ""
phase: Running
`)],
  },
});

// Node health is judged from the lease kwok renews (--node-lease-duration-seconds); a status refresh every
// few minutes keeps the conditions' heartbeat times plausible.
const nodeHeartbeat = stage('testenv-node-heartbeat', 'Node', {
  selector: {
    matchExpressions: [
      jq('.status.phase', 'In', ['Running']),
      jq('.status.conditions[]? | select(.type == "Ready") | .status', 'In', ['True']),
    ],
  },
  delay: { durationMilliseconds: 240_000, jitterDurationMilliseconds: 270_000 },
  next: { patches: [statusPatch(nodeConditions)] },
});

const podStatusBasics = `
hostIP: {{ NodeIPWith .spec.nodeName | Quote }}
podIP: {{ PodIPWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) | Quote }}
startTime: {{ or .status.startTime Now | Quote }}`;

const readyConditions = (ready: boolean, reason: string) => `
conditions:
- type: PodReadyToStartContainers
  status: "True"
  lastTransitionTime: {{ Now | Quote }}
- type: Initialized
  status: "True"
  lastTransitionTime: {{ Now | Quote }}
- type: ContainersReady
  status: "${ready ? 'True' : 'False'}"
  reason: "${reason}"
  lastTransitionTime: {{ Now | Quote }}
- type: Ready
  status: "${ready ? 'True' : 'False'}"
  reason: "${reason}"
  lastTransitionTime: {{ Now | Quote }}`;

// Init containers (if any) have completed by the time the main containers run or wait.
const initContainerStatuses = `
initContainerStatuses:
{{ range .spec.initContainers }}
- name: {{ .name | Quote }}
  image: {{ .image | Quote }}
  ready: true
  restartCount: 0
  state:
    terminated:
      exitCode: 0
      reason: Completed
      startedAt: {{ Now | Quote }}
      finishedAt: {{ Now | Quote }}
{{ end }}`;

const podStuck = stage('testenv-pod-stuck', 'Pod', {
  selector: { matchExpressions: [notDeleted, notStarted, jq(stuckKey, 'In', ['true'])] },
  next: {
    patches: [statusPatch(`
{{ $annotations := or .metadata.annotations dict }}
{{ $reason := or (index $annotations "${A.stuck}") "ImagePullBackOff" }}
${readyConditions(false, 'ContainersNotReady')}
${initContainerStatuses}
containerStatuses:
{{ range .spec.containers }}
- name: {{ .name | Quote }}
  image: {{ .image | Quote }}
  imageID: ""
  ready: false
  restartCount: 0
  started: false
  state:
    waiting:
      reason: {{ $reason | Quote }}
      message: {{ printf "Back-off pulling image %q" .image | Quote }}
{{ end }}
phase: Pending
${podStatusBasics}
`)],
  },
});

/** One status per container, each in the given state (YAML indented under `state:`). */
const containerStatuses = (running: boolean, state: string) => `
containerStatuses:
{{ range .spec.containers }}
- name: {{ .name | Quote }}
  image: {{ .image | Quote }}
  imageID: {{ printf "testenv://%s" .image | Quote }}
  containerID: {{ printf "testenv://%s" .name | Quote }}
  ready: ${running}
  restartCount: 0
  started: ${running}
  state:${state}
{{ end }}`;

// Starts the containers, then records when they will terminate, so that later changes to the pod (which make
// kwok re-evaluate its stages) do not stretch the run. Until that record lands, testenv-pod-exit waits 1s.
const podStart = stage('testenv-pod-start', 'Pod', {
  selector: { matchExpressions: [notDeleted, notStarted, jq(stuckKey, 'NotIn', ['true']), jq(logReadyKey, 'In', ['true'])] },
  next: {
    patches: [
      statusPatch(`
${readyConditions(true, '')}
${initContainerStatuses}
${containerStatuses(true, `
    running:
      startedAt: {{ Now | Quote }}`)}
phase: Running
${podStatusBasics}
`),
      {
        root: 'metadata',
        template: `
{{ $annotations := or .metadata.annotations dict }}
annotations:
  ${A.exitAt}: {{ date "2006-01-02T15:04:05.000000000Z07:00" (dateModify (or (index $annotations "${A.runFor}") "1s") now) | Quote }}
`,
      },
    ],
  },
});

const terminatedContainers = (exitCode: string, reason: string, message: string) =>
  containerStatuses(false, `
    terminated:
      exitCode: ${exitCode}
      reason: ${reason}
      ${message}
      startedAt: {{ or $.status.startTime Now | Quote }}
      finishedAt: {{ Now | Quote }}`);

// Pods that restart forever (a Deployment's) never exit here: ending them would only make their ReplicaSet
// replace them, over and over, loading the control plane for the rest of the run.
const podExit = stage('testenv-pod-exit', 'Pod', {
  selector: { matchExpressions: [notDeleted, jq('.status.phase', 'In', ['Running']), jq('.spec.restartPolicy', 'NotIn', ['Always'])] },
  delay: { durationMilliseconds: 1000, durationFrom: { jq: { expression: annotation(A.exitAt) } } },
  next: {
    patches: [statusPatch(`
{{ $annotations := or .metadata.annotations dict }}
{{ $exitCode := atoi (or (index $annotations "${A.exitCode}") "0") }}
{{ $message := or (index $annotations "${A.terminationMessage}") "" }}
${readyConditions(false, '{{ if eq $exitCode 0 }}PodCompleted{{ else }}PodFailed{{ end }}')}
${terminatedContainers(
  '{{ $exitCode }}',
  '{{ if eq $exitCode 0 }}Completed{{ else }}Error{{ end }}',
  '{{ if $message }}message: {{ $message | Quote }}{{ end }}',
)}
phase: {{ if eq $exitCode 0 }}Succeeded{{ else }}Failed{{ end }}
`)],
  },
});

// What a kubelet does when a pod is deleted while it still runs: stop the containers (SIGTERM: 143) and mark
// the pod Failed. The pod object itself stays until its finalizers are gone (next stage).
const podTerminateOnDelete = stage('testenv-pod-terminate-on-delete', 'Pod', {
  selector: { matchExpressions: [deleted, jq('.status.phase', 'In', ['Pending', 'Running'])] },
  next: {
    patches: [statusPatch(`
${readyConditions(false, 'PodFailed')}
${terminatedContainers('143', 'Error', '')}
phase: Failed
`)],
  },
});

const podDelete = stage('testenv-pod-delete', 'Pod', {
  selector: {
    matchExpressions: [
      deleted,
      jq('.status.phase', 'NotIn', ['Pending', 'Running']),
      jq('(.metadata.finalizers // []) | length', 'In', ['0']),
    ],
  },
  next: { delete: true },
});

/** kwok's --config file: all stages plus the log every pod gets unless it asks for its own. */
export function kwokConfigYaml(defaultLogFile: string): string {
  const defaultLogs = {
    apiVersion: 'kwok.x-k8s.io/v1alpha1',
    kind: 'ClusterLogs',
    metadata: { name: 'testenv-default-logs' },
    spec: { logs: [{ logsFile: defaultLogFile, follow: false }] },
  };
  const documents = [nodeInitialize, nodeHeartbeat, podStuck, podStart, podExit, podTerminateOnDelete, podDelete, defaultLogs];
  return documents.map((doc) => stringify(doc, { lineWidth: 0 })).join('---\n');
}
