/** Why the test environment could not be started or stopped; the message says what to do next. */
export class TestEnvironmentError extends Error {
  override readonly name: string = 'TestEnvironmentError';
}

/** A server of the environment did not become ready in time or exited; carries the tail of its log. */
export class ServerNotReadyError extends TestEnvironmentError {
  override readonly name = 'ServerNotReadyError';

  constructor(
    readonly server: string,
    reason: string,
    readonly logFile: string,
    readonly logTail: string,
  ) {
    super(`${server} did not become ready: ${reason}\n--- last lines of ${logFile} ---\n${logTail}`);
  }
}
