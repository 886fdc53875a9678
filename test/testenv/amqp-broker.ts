// A RabbitMQ broker for the queue intake's suites (decision 0023): Debian's rabbitmq-server, run as
// a child of the environment (never the system service), with everything of its own under
// <stateDir>/amqp: node name, cookie, data, epmd port and distribution port.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { TestEnvironmentError } from './errors.js';
import { freePorts } from './ports.js';
import { startServer, stopNamedServers, type StartedServer } from './processes.js';
import { waitForServer } from './server-readiness.js';

/** How to reach (and restart) the broker; what connection.json holds under `amqp`. */
export interface AmqpBroker {
  /** amqp://user:password@127.0.0.1:port: the credentials are the environment's own, made at start. */
  url: string;
  port: number;
  epmdPort: number;
  distPort: number;
  nodeName: string;
  /** Its config, cookie and data (kept across a restart: durable queues and persistent messages survive). */
  dir: string;
  /** Where its pid records are (stopNamedServers). */
  stateDir: string;
}

/** The Debian package, and where its programs are (the /usr/sbin wrappers would switch to the rabbitmq user). */
export const AMQP_BROKER_PACKAGE = 'rabbitmq-server';
const SERVER = '/usr/lib/rabbitmq/bin/rabbitmq-server';

/** What this machine lacks to run the broker (empty when it can). */
export function amqpBrokerMissing(): string[] {
  return existsSync(SERVER) && epmdProgram() ? [] : [`${SERVER} and epmd (apt-get install ${AMQP_BROKER_PACKAGE})`];
}

function epmdProgram(): string | undefined {
  const erts = existsSync('/usr/lib/erlang') ? readdirSync('/usr/lib/erlang').find((name) => name.startsWith('erts-')) : undefined;
  const path = erts && join('/usr/lib/erlang', erts, 'bin', 'epmd');
  return path && existsSync(path) ? path : undefined;
}

/** Starts a fresh broker on free loopback ports under `<stateDir>/amqp`; also callable on its own for development. */
export async function startAmqpBroker(stateDir: string): Promise<AmqpBroker> {
  const missing = amqpBrokerMissing();
  if (missing.length > 0) throw new TestEnvironmentError(`the AMQP broker cannot run here: missing ${missing.join('; ')}`);
  const dir = join(stateDir, 'amqp');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const [port, epmdPort, distPort] = (await freePorts(3)) as [number, number, number];
  const user = `testenv${randomBytes(4).toString('hex')}`;
  const password = randomBytes(18).toString('base64url');
  // default_user applies to a fresh data dir only, which this is.
  writeFileSync(
    join(dir, 'rabbitmq.conf'),
    [`listeners.tcp.1 = 127.0.0.1:${port}`, `default_user = ${user}`, `default_pass = ${password}`, 'loopback_users = none', 'log.console = true', 'log.console.level = warning', 'log.file = false', ''].join('\n'),
    { mode: 0o600 },
  );
  writeFileSync(join(dir, '.erlang.cookie'), randomBytes(20).toString('hex').toUpperCase(), { mode: 0o400 });
  const broker: AmqpBroker = { url: `amqp://${user}:${password}@127.0.0.1:${port}`, port, epmdPort, distPort, nodeName: `testenv-${randomBytes(4).toString('hex')}@localhost`, dir, stateDir };
  startServer(stateDir, { name: 'epmd', command: epmdProgram()!, args: ['-port', String(epmdPort), '-address', '127.0.0.1'] });
  await runBroker(broker);
  return broker;
}

/** Starts the broker's node on its existing data dir and waits until it takes AMQP connections. */
export async function runBroker(broker: AmqpBroker): Promise<void> {
  const { dir } = broker;
  const server: StartedServer = startServer(broker.stateDir, {
    name: 'rabbitmq',
    // Its program is a shell script: started through sh, its pid record names the command it keeps running.
    command: '/bin/sh',
    args: [SERVER],
    env: {
      HOME: dir, // the cookie
      RABBITMQ_NODENAME: broker.nodeName,
      RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
      RABBITMQ_CONF_ENV_FILE: join(dir, 'rabbitmq-env.conf'),
      RABBITMQ_ADVANCED_CONFIG_FILE: join(dir, 'advanced.config'),
      RABBITMQ_MNESIA_BASE: join(dir, 'data'),
      RABBITMQ_LOG_BASE: join(dir, 'log'),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
      RABBITMQ_ENABLED_PLUGINS: '',
      RABBITMQ_PID_FILE: join(dir, 'rabbitmq.pid'),
      RABBITMQ_DIST_PORT: String(broker.distPort),
      // The node's distribution listener too on 127.0.0.1 only (it listens on every interface otherwise).
      RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
      ERL_EPMD_PORT: String(broker.epmdPort),
    },
  });
  await waitForServer(server, `AMQP on 127.0.0.1:${broker.port}`, () => speaksAmqp(broker.port), 60_000);
}

/** Stops the broker's node, keeping its data (restartAmqpBroker starts it again). */
export async function stopBrokerNode(broker: AmqpBroker): Promise<void> {
  await stopNamedServers(broker.stateDir, ['rabbitmq'], 30_000);
}

/** A broker restart as an outage looks: the node stops, then starts on the same data. */
export async function restartAmqpBroker(broker: AmqpBroker): Promise<void> {
  await stopBrokerNode(broker);
  await runBroker(broker);
}

/** Stops the node and its epmd. */
export async function stopAmqpBroker(stateDir: string): Promise<void> {
  await stopNamedServers(stateDir, ['rabbitmq'], 30_000);
  await stopNamedServers(stateDir, ['epmd']);
}

/** True once the listener answers the AMQP 0-9-1 protocol header with connection.start (a method frame). */
function speaksAmqp(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write(Buffer.from('AMQP\x00\x00\x09\x01', 'latin1')));
    socket.once('data', (data) => done(data[0] === 1));
  });
}
