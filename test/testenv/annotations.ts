/**
 * Pod annotations that choose how the fake kubelet (kwok, driven by the stages in kwok-stages.ts) runs a pod.
 * Put them on a Job's pod template. The contract is described in README.md.
 */
export const PodAnnotations = {
  /** Container exit code (integer, default "0"); non-zero makes the pod Failed. */
  exitCode: 'testenv.ogcapi/exit-code',
  /** Container termination message (what a container writes to /dev/termination-log). */
  terminationMessage: 'testenv.ogcapi/termination-message',
  /** How long the pod stays Running before its containers terminate (Go duration, default "1s"). */
  runFor: 'testenv.ogcapi/run-for',
  /** Keep the pod Pending with its containers waiting for this reason, e.g. "ImagePullBackOff". */
  stuck: 'testenv.ogcapi/stuck',
  /** The containers' log (plain text, lines separated by "\n"), served through the pods/log API. */
  log: 'testenv.ogcapi/log',
  /** Prefix of a per-container log: `testenv.ogcapi/log.<container>` replaces `log` for that container (needs `log` too). */
  containerLogPrefix: 'testenv.ogcapi/log.',
  /** Repeats every log of the pod this many times (integer): large logs without large annotations. */
  logRepeat: 'testenv.ogcapi/log-repeat',
  /** Set by the environment once the log is in place; the pod starts only after that. Do not set it yourself. */
  logReady: 'testenv.ogcapi/log-ready',
  /** Set by the environment when the pod starts: when its containers will terminate (RFC 3339). */
  exitAt: 'testenv.ogcapi/exit-at',
} as const;

/** Images whose name contains this never pull: their pods stay Pending with ImagePullBackOff. */
export const unpullableImageMarker = 'invalid';
