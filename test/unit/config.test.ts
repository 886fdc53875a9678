import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { configFileFrom, loadConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { processorTypes } from '../../src/compose.js';
import { linkKey } from '../../src/job-data/signed-links.js';

const dir = mkdtempSync(join(tmpdir(), 'ogcapi-config-'));
function load(yaml: string, env: NodeJS.ProcessEnv = {}) {
  const file = join(dir, `config-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, yaml);
  return { file, load: () => loadConfig(file, env, processorTypes) };
}
const minimal = 'resources:\n  echo: {type: process, processor: {name: Echo}}\n';

describe('configuration: server-config.yaml', () => {
  it('fills in defaults and derives the public URL from the bind address', () => {
    const config = load(minimal).load();
    assert.equal(config.server.host, '127.0.0.1');
    assert.equal(config.server.port, 5000);
    assert.equal(config.server.url, 'http://127.0.0.1:5000');
    assert.equal(config.server.maxBodyBytes, 1048576);
    assert.equal(config.server.maxBodyDepth, 100);
    assert.equal(config.server.headersTimeoutSeconds, 20);
    assert.equal(config.server.requestTimeoutSeconds, 60);
    assert.equal(config.manager.syncWaitSeconds, 60);
    assert.equal(config.manager.localStorePath, join(dir, 'data/jobs.sqlite'));
    assert.deepEqual(config.resources.map((r) => r.id), ['echo']);
  });

  describe('queue intake (manager.intake, K8S_MANAGER_AMQP_URL)', () => {
    const url = 'amqp://intake:s3cret-pass@broker.test:5672/vhost';
    const intake = (section: string) => `manager:\n  intake: ${section}\n${minimal}`;

    it('reads the queues with their dead-letter queues, and keeps only the host to show', () => {
      const config = load(intake("{queues: [{name: requests}, {name: legacy, dead_letter_queue: legacy.refused, compatible: {processes: [echo], inputs: {job_name: string_input}}}]}"), { K8S_MANAGER_AMQP_URL: url }).load();
      assert.deepEqual(config.manager.intake, {
        url,
        host: 'broker.test:5672',
        runInServer: true,
        prefetch: 16,
        replyLogBytes: 65536,
        queues: [
          { name: 'requests', deadLetterQueue: 'requests.dead-letter' },
          { name: 'legacy', deadLetterQueue: 'legacy.refused', compatible: { processes: ['echo'], inputs: { job_name: 'string_input' } } },
        ],
      });
    });

    it('reads reply_log_bytes (0 sends no log) and names the line of one out of range', () => {
      assert.equal(load(intake('{reply_log_bytes: 0, queues: [{name: requests}]}'), { K8S_MANAGER_AMQP_URL: url }).load().manager.intake?.replyLogBytes, 0);
      const { file, load: bad } = load(intake('{reply_log_bytes: 99999999, queues: [{name: requests}]}'), { K8S_MANAGER_AMQP_URL: url });
      assert.throws(bad, (error: Error) => error.message.includes(`${file}:2`) && /reply_log_bytes/.test(error.message));
    });

    it('is off with enabled: false, and needs no broker then', () => {
      assert.equal(load(intake('{enabled: false, queues: [{name: requests}]}')).load().manager.intake, undefined);
    });

    it('refuses to start without the broker URL, or with one that is not amqp(s), never showing it', () => {
      assert.throws(() => load(intake('{queues: [{name: requests}]}')).load(), (error: Error) => error instanceof ConfigError && /K8S_MANAGER_AMQP_URL is not set/.test(error.message));
      const wrong = 'http://intake:s3cret-pass@broker.test/';
      assert.throws(() => load(intake('{queues: [{name: requests}]}'), { K8S_MANAGER_AMQP_URL: wrong }).load(), (error: Error) => /amqp:\/\/ or amqps:\/\//.test(error.message) && !error.message.includes('s3cret'));
    });

    it('names the file and line of a compatible process that does not exist, and of a queue named twice', () => {
      const { file, load: bad } = load(intake('{queues: [{name: requests, compatible: {processes: [nope], inputs: {a: b}}}]}'), { K8S_MANAGER_AMQP_URL: url });
      assert.throws(bad, (error: Error) => error.message.includes(`${file}:2`) && /there is no process 'nope'/.test(error.message));
      assert.throws(load(intake('{queues: [{name: a}, {name: a.dead-letter}]}'), { K8S_MANAGER_AMQP_URL: url }).load, /queue 'a.dead-letter' is named twice/);
    });

    describe('a compatible mapping that would lose what a message sends', () => {
      const image = (id: string, inputs: string) => `  ${id}: {type: process, processor: {name: GenericImageProcessor, image: example.test/${id}:1, check_auth: false, metadata: {title: ${id}, inputs: ${inputs}}}}\n`;
      const withImages = (compatible: string) => `manager:\n  intake:\n    queues:\n      - name: legacy\n        compatible: ${compatible}\n${minimal}${image('copy', '{name: {schema: {type: string}}, source: {schema: {type: string}}}')}${image('move', '{name: {schema: {type: string}}}')}`;
      const refused = (compatible: string, reason: RegExp) => {
        const { file, load: bad } = load(withImages(compatible), { K8S_MANAGER_AMQP_URL: url });
        assert.throws(bad, (error: Error) => error instanceof ConfigError && error.message.includes(`${file}:5`) && reason.test(error.message));
      };

      it('takes a timeout field for processes run as Kubernetes Jobs', () => {
        const config = load(withImages('{processes: [copy, move], inputs: {job_name: name}, timeout_field: timeout}'), { K8S_MANAGER_AMQP_URL: url }).load();
        assert.deepEqual(config.manager.intake?.queues[0]?.compatible, { processes: ['copy', 'move'], inputs: { job_name: 'name' }, timeoutField: 'timeout' });
      });

      it('refuses a target that is not an input of every listed process, naming its file and line', () => {
        refused('{processes: [copy, move], inputs: {job_name: name, input_bucket: source}}', /compatible\/inputs\/input_bucket: 'source' is not an input of process 'move' \(its inputs: name\)/);
        refused('{processes: [echo], inputs: {job_name: nope}}', /'nope' is not an input of process 'echo'/);
      });

      it('refuses a timeout field that is also mapped to an input', () => {
        refused('{processes: [copy], inputs: {job_name: name, timeout: source}, timeout_field: timeout}', /compatible\/timeout_field: 'timeout' is also mapped to an input/);
      });

      it('refuses a timeout field for a process run in the server, which has no deadline to honour it', () => {
        refused('{processes: [echo], inputs: {job_name: string_input}, timeout_field: timeout}', /process 'echo' runs in the server/);
      });
    });
  });

  describe('link key (K8S_MANAGER_LINK_KEY)', () => {
    it('refuses a key shorter than 32 bytes', () => {
      assert.throws(() => linkKey({ K8S_MANAGER_LINK_KEY: 'short' }, undefined), (error: Error) => error instanceof ConfigError && /at least 32 bytes/.test(error.message));
      assert.equal(linkKey({ K8S_MANAGER_LINK_KEY: 'k'.repeat(32) }, undefined).length, 32);
    });
    it('makes one key file once and reads the same key afterwards', () => {
      const file = join(mkdtempSync(join(tmpdir(), 'link-key-')), 'keys', '.link-key');
      const first = linkKey({}, file);
      assert.equal(first.length, 32);
      assert.deepEqual(linkKey({}, file), first);
    });
  });

  describe('data bucket for job files (K8S_MANAGER_DATA_BUCKET_*)', () => {
    const full = {
      K8S_MANAGER_DATA_BUCKET_ENDPOINT: 'https://s3.example.test',
      K8S_MANAGER_DATA_BUCKET_KEY: 'key',
      K8S_MANAGER_DATA_BUCKET_SECRET: 'secret',
      K8S_MANAGER_DATA_BUCKET_NAME: 'job-data',
      K8S_MANAGER_DATA_BUCKET_PATH_PREFIX: 'ogc',
    };
    it('keeps job files on disk when no variable is set, and in the bucket when all are', () => {
      assert.equal(load(minimal).load().manager.files.bucket, undefined);
      assert.deepEqual(load(minimal, full).load().manager.files.bucket, { endpoint: 'https://s3.example.test', accessKeyId: 'key', secretAccessKey: 'secret', bucket: 'job-data', pathPrefix: 'ogc/', region: 'us-east-1' });
    });
    it('refuses to start when one of them is missing, naming it and never showing the secret', () => {
      const { K8S_MANAGER_DATA_BUCKET_ENDPOINT: _endpoint, ...withoutEndpoint } = full;
      assert.throws(() => load(minimal, withoutEndpoint).load(), (error: Error) => error instanceof ConfigError && /K8S_MANAGER_DATA_BUCKET_ENDPOINT is not set/.test(error.message) && !error.message.includes('secret'));
    });
  });

  describe('log archive (manager.finalizer_controller)', () => {
    const archiveOn = `manager: {finalizer_controller: true, log_archive: {lease_duration_seconds: 5}}\n${minimal}`;
    const bucket = {
      K8S_MANAGER_FINALIZER_BUCKET_ENDPOINT: 'https://s3.example.org',
      K8S_MANAGER_FINALIZER_BUCKET_KEY: 'key-id',
      K8S_MANAGER_FINALIZER_BUCKET_SECRET: 'secret',
      K8S_MANAGER_FINALIZER_BUCKET_NAME: 'logs',
      K8S_MANAGER_FINALIZER_BUCKET_PATH_PREFIX: 'k8s-manager/logs',
    };

    it('is off by default: no bucket is needed', () => {
      assert.equal(load(minimal).load().manager.logArchive, undefined);
    });

    it('reads the bucket from the environment; the prefix ends with a slash; the region defaults', () => {
      const archive = load(archiveOn, bucket).load().manager.logArchive!;
      assert.deepEqual(archive.bucket, { endpoint: 'https://s3.example.org', accessKeyId: 'key-id', secretAccessKey: 'secret', bucket: 'logs', pathPrefix: 'k8s-manager/logs/', region: 'us-east-1' });
      assert.equal(archive.runInServer, true);
      assert.equal(archive.leaseDurationSeconds, 5);
      assert.equal(load(archiveOn, { ...bucket, K8S_MANAGER_FINALIZER_BUCKET_PATH_PREFIX: '', K8S_MANAGER_FINALIZER_BUCKET_REGION: 'eu-de' }).load().manager.logArchive!.bucket.pathPrefix, '');
    });

    for (const name of ['ENDPOINT', 'KEY', 'SECRET', 'NAME', 'PATH_PREFIX']) {
      it(`refuses to start when K8S_MANAGER_FINALIZER_BUCKET_${name} is missing, naming it`, () => {
        const env: NodeJS.ProcessEnv = { ...bucket };
        delete env[`K8S_MANAGER_FINALIZER_BUCKET_${name}`];
        assert.throws(() => load(archiveOn, env).load(), (error: Error) => error instanceof ConfigError && error.message.includes(`K8S_MANAGER_FINALIZER_BUCKET_${name} is not set`));
      });
    }

    it('refuses an empty credential and an endpoint that is not a URL', () => {
      assert.throws(() => load(archiveOn, { ...bucket, K8S_MANAGER_FINALIZER_BUCKET_SECRET: '' }).load(), /K8S_MANAGER_FINALIZER_BUCKET_SECRET is empty/);
      assert.throws(() => load(archiveOn, { ...bucket, K8S_MANAGER_FINALIZER_BUCKET_ENDPOINT: 's3.example.org' }).load(), /ENDPOINT must be an http\(s\) URL/);
    });
  });

  it('lets PORT and HOST override the bind address', () => {
    const config = load(minimal, { PORT: '8081', HOST: '0.0.0.0' }).load();
    assert.equal(config.server.port, 8081);
    assert.equal(config.server.host, '0.0.0.0');
  });

  it('keeps an explicit public URL', () => {
    const config = load(`server: {url: 'https://processes.example.org/ogc/'}\n${minimal}`).load();
    assert.equal(config.server.url, 'https://processes.example.org/ogc');
  });

  it('names the config file from --config, a lone argument, K8S_MANAGER_CONFIG, else ./server-config.yaml', () => {
    assert.equal(configFileFrom(['--config', 'a.yaml'], {}), resolve('a.yaml'));
    assert.equal(configFileFrom(['--config=b.yaml'], {}), resolve('b.yaml'));
    assert.equal(configFileFrom(['c.yaml'], { K8S_MANAGER_CONFIG: 'd.yaml' }), resolve('c.yaml'));
    assert.equal(configFileFrom([], { K8S_MANAGER_CONFIG: 'd.yaml' }), resolve('d.yaml'));
    assert.equal(configFileFrom([], {}), resolve('server-config.yaml'));
  });

  const invalid: Array<[string, string, RegExp]> = [
    ['a wrong type', `server: {bind: {port: high}}\n${minimal}`, /:1 \/server\/bind\/port: must be integer/],
    ['a port out of range', `server:\n  bind:\n    port: 70000\n${minimal}`, /:3 \/server\/bind\/port: must be <= 65535/],
    ['an unknown key', `server: {colour: blue}\n${minimal}`, /\/server\/colour: is not a known property/],
    ['a missing section', 'server: {}\n', /\/resources: is required/],
    ['an unknown processor', 'resources:\n  x: {type: process, processor: {name: Nope}}\n', /:2 \/resources\/x\/processor\/name: unknown processor 'Nope'; known: Echo, HelloWorld, WordFrequencies, GenericImageProcessor/],
    ['an option the processor does not take', 'resources:\n  x:\n    type: process\n    processor: {name: Echo, image: busybox}\n', /process 'x'.*:4 \/resources\/x\/processor\/image: is not a known property/s],
    ['a bad resource type', 'resources:\n  x: {type: collection, processor: {name: Echo}}\n', /\/resources\/x\/type: must be one of "process"/],
    ['a bad process id', 'resources:\n  "no spaces": {type: process, processor: {name: Echo}}\n', /resources/],
    ['broken YAML', 'resources: [\n', /is not valid YAML/],
    ['a headers timeout longer than the request timeout', `server:\n  limits: {headers_timeout_seconds: 30, request_timeout_seconds: 10}\n${minimal}`, /:2 \/server\/limits\/headers_timeout_seconds: must be at most request_timeout_seconds \(10\)/],
  ];
  for (const [name, yaml, message] of invalid) {
    it(`refuses ${name}, naming the file and the path`, () => {
      const { file, load: loadIt } = load(yaml);
      assert.throws(loadIt, (error: unknown) => {
        assert.ok(error instanceof ConfigError, String(error));
        assert.ok(error.message.includes(file), error.message);
        assert.match(error.message, message);
        return true;
      });
    });
  }

  it('refuses a missing file, naming it', () => {
    assert.throws(() => loadConfig(join(dir, 'missing.yaml'), {}, processorTypes), /Cannot read configuration file .*missing\.yaml/);
  });

  it('refuses a PORT that is not a port', () => {
    assert.throws(load(minimal, { PORT: 'eighty' }).load, /PORT must be an integer/);
  });

  it('accepts the shipped server-config.yaml, its Kubernetes examples included', () => {
    const config = loadConfig(resolve('server-config.yaml'), {}, processorTypes);
    assert.deepEqual(config.resources.map((r) => r.id), ['echo', 'hello-world', 'word-frequencies', 'hello-world-k8s', 'generic-example']);
  });

  it('names the process and the field of a bad GenericImageProcessor option', () => {
    const { file, load: loadIt } = load(`resources:\n  tool:\n    type: process\n    processor:\n      name: GenericImageProcessor\n      image: busybox\n      retries: -1\n      metadata: {title: Tool}\n`);
    assert.throws(loadIt, (error: Error) => error.message.includes(file) && /process 'tool'.*:7 \/resources\/tool\/processor\/retries: must be >= 0/s.test(error.message));
  });
});
