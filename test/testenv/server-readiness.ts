import { ServerNotReadyError } from './errors.js';
import { logTail, type StartedServer } from './processes.js';
import { waitFor, WaitTimeoutError } from './wait.js';

/**
 * Waits until `check` passes for a server this process started. Fails at once if the server exits, and with
 * the tail of its log on timeout, so the error names the server and shows why.
 */
export async function waitForServer(server: StartedServer, what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const notReady = (reason: string) => new ServerNotReadyError(server.name, reason, server.logFile, logTail(server.logFile));
  try {
    await waitFor(
      async () => {
        if (server.exit) throw notReady(`it exited (code ${server.exit.code}, signal ${server.exit.signal}) while waiting for ${what}`);
        return check();
      },
      { what, timeoutMs, isFatal: (error) => error instanceof ServerNotReadyError },
    );
  } catch (error) {
    if (error instanceof WaitTimeoutError) throw notReady(error.message);
    throw error;
  }
}
