// The shape of server-config.yaml. Unknown keys are errors: a typo must not be ignored silently.
// Each processor type validates its own options (see src/processes/processor-types.ts).
import type { FromSchema } from 'json-schema-to-ts';
import { jobControlOptionSchema } from '../ogc/schemas.js';

export const serverConfigSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['resources'],
  properties: {
    server: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        url: {
          type: 'string',
          format: 'uri',
          pattern: '^https?://',
          description: 'Public base URL used in links. Defaults to http://<bind host>:<bind port>.',
        },
        bind: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            host: { type: 'string', minLength: 1, default: '127.0.0.1' },
            port: { type: 'integer', minimum: 0, maximum: 65535, default: 5000 },
          },
        },
        limits: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            max_body_bytes: { type: 'integer', minimum: 1024, default: 1048576 },
            max_body_depth: { type: 'integer', minimum: 8, maximum: 1000, default: 100, description: 'How deeply objects and arrays may nest in a JSON request body.' },
            headers_timeout_seconds: { type: 'integer', minimum: 1, maximum: 3600, default: 20, description: 'Longest a client may take to send the headers of a request (at most request_timeout_seconds).' },
            request_timeout_seconds: { type: 'integer', minimum: 1, maximum: 3600, default: 60, description: 'Longest a client may take to send a whole request, body included; then it gets a 408 and the connection closes.' },
          },
        },
        logging: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            level: {
              type: 'string',
              enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
              default: 'info',
            },
          },
        },
        title: { type: 'string', default: 'ogcapi-k8s-manager' },
        description: {
          type: 'string',
          default: 'OGC API – Processes server that runs container images as Kubernetes Jobs',
        },
      },
    },
    manager: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        local_store: {
          type: 'object',
          additionalProperties: false,
          default: {},
          description: 'Embedded SQLite store of the local (in-process) jobs.',
          properties: {
            path: {
              type: 'string',
              minLength: 1,
              default: 'data/jobs.sqlite',
              description: 'Relative paths are resolved against the folder of the configuration file.',
            },
          },
        },
        files: {
          type: 'object',
          additionalProperties: false,
          default: {},
          description: 'Files that jobs produce (file outputs), given to clients by reference, by value or raw.',
          properties: {
            path: {
              type: 'string',
              minLength: 1,
              description: 'Folder of the job files; relative paths are resolved against the folder of the configuration file. Default: job-files beside the local store (a temporary folder when the store is in memory).',
            },
            max_inline_bytes: { type: 'integer', minimum: 0, default: 65536, description: 'Largest file output returned by value inside a results document.' },
            link_ttl_seconds: { type: 'integer', minimum: 1, maximum: 604800, default: 3600, description: 'How long a link to a file output (transmissionMode reference) stays valid.' },
            href: {
              type: 'object',
              additionalProperties: false,
              default: {},
              description: 'File inputs given by reference ({"href": ...}): where the server fetches them from.',
              properties: {
                allowed_hosts: { type: 'array', items: { type: 'string', minLength: 1 }, default: [], description: 'When not empty, the only hosts fetched from.' },
                allow_private_networks: { type: 'boolean', default: false, description: 'Fetch from loopback and private addresses too. Link-local and metadata addresses are never fetched from.' },
                timeout_seconds: { type: 'integer', minimum: 1, maximum: 3600, default: 30, description: 'Longest wait for a connection, the headers, or the next bytes.' },
              },
            },
          },
        },
        notifications: {
          type: 'object',
          additionalProperties: false,
          default: {},
          description: 'Callbacks to the URIs of an execute request\'s subscriber: how they are sent and retried.',
          properties: {
            allowed_hosts: { type: 'array', items: { type: 'string', minLength: 1 }, default: [], description: 'When not empty, the only hosts called back.' },
            allow_private_networks: { type: 'boolean', default: false, description: 'Call loopback and private addresses too. Link-local and metadata addresses are never called.' },
            timeout_seconds: { type: 'number', exclusiveMinimum: 0, maximum: 300, default: 10, description: 'Longest wait for one delivery (connection, answer and body).' },
            max_attempts: { type: 'integer', minimum: 1, maximum: 100, default: 10, description: 'Deliveries tried before a notification is given up.' },
            deadline_seconds: { type: 'number', exclusiveMinimum: 0, default: 86400, description: 'Longest time a notification is retried, from its first attempt.' },
            initial_backoff_seconds: { type: 'number', exclusiveMinimum: 0, maximum: 86400, default: 2, description: 'Wait before the first retry; doubled each retry, with jitter.' },
            max_backoff_seconds: { type: 'number', exclusiveMinimum: 0, maximum: 86400, default: 600, description: 'Longest wait between two attempts.' },
            sweep_seconds: { type: 'number', minimum: 0.1, maximum: 86400, default: 30, description: 'How often pending notifications are looked for (after a restart, or left by a replica that stopped).' },
          },
        },
        intake: {
          type: 'object',
          additionalProperties: false,
          required: ['queues'],
          description: 'Execute requests taken from RabbitMQ (AMQP 0-9-1) queues; the broker URL comes from the environment variable K8S_MANAGER_AMQP_URL.',
          properties: {
            enabled: { type: 'boolean', default: true, description: 'false turns the intake off (the section is kept).' },
            run_in_server: { type: 'boolean', default: true, description: 'false when the intake runs as its own process (npm run intake); it then takes requests for image processes only.' },
            prefetch: { type: 'integer', minimum: 1, maximum: 1000, default: 16, description: 'Messages of each queue taken at once (unacknowledged): what bounds the work in flight.' },
            reply_log_bytes: {
              type: 'integer',
              minimum: 0,
              maximum: 1048576,
              default: 65536,
              description: 'How much of the end of a job\'s container log its reply carries (log.tail); 0 sends no log. Bounded so a reply stays a small message.',
            },
            queues: {
              type: 'array',
              minItems: 1,
              items: {
                type: 'object',
                additionalProperties: false,
                required: ['name'],
                properties: {
                  name: { type: 'string', minLength: 1, maxLength: 255, description: 'The work queue (durable; declared with its dead-letter queue).' },
                  dead_letter_queue: { type: 'string', minLength: 1, maxLength: 255, description: 'Where refused messages go, as problem+json saying why; default <name>.dead-letter.' },
                  compatible: {
                    type: 'object',
                    additionalProperties: false,
                    required: ['processes', 'inputs'],
                    description: 'Also take the simpler message of queue workers: a process id (optional with one process), fields mapped to inputs and a timeout; never an image of its own, never a field it does not map.',
                    properties: {
                      processes: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', minLength: 1 }, description: 'The only processes such a message may name.' },
                      inputs: {
                        type: 'object',
                        minProperties: 1,
                        additionalProperties: { type: 'string', minLength: 1 },
                        description: 'Message field → process input, e.g. job_name: name, input_bucket: source, output_bucket: target. Every target must be an input of every listed process.',
                      },
                      timeout_field: {
                        type: 'string',
                        minLength: 1,
                        description: "The message field (whole seconds, a positive integer) that bounds the job: its Job's activeDeadlineSeconds is the lesser of it and the process's timeout. Only for processes run as Kubernetes Jobs.",
                      },
                    },
                  },
                },
              },
            },
          },
        },
        sync_wait_seconds: {
          type: 'integer',
          minimum: 1,
          maximum: 3600,
          default: 60,
          description: 'Longest a synchronous execution waits before answering as an asynchronous job.',
        },
        kubernetes: {
          type: 'object',
          additionalProperties: false,
          default: {},
          description: 'Jobs of GenericImageProcessor processes. The namespace comes from K8S_MANAGER_NAMESPACE, else the service account.',
          properties: {
            default_timeout_seconds: { type: 'integer', minimum: 1, default: 3600, description: 'activeDeadlineSeconds unless a process sets timeout_seconds.' },
            default_ttl_seconds_after_finished: { type: 'integer', minimum: 0, default: 604800, description: 'How long finished Jobs are kept (7 days) unless a process sets its own.' },
            stuck_grace_seconds: { type: 'integer', minimum: 1, default: 300, description: 'How long a job may wait on a bad image or an unschedulable pod before it is failed.' },
            max_inputs_bytes: { type: 'integer', minimum: 1024, maximum: 100000, default: 65536, description: 'Largest inputs (as JSON) a job accepts: they travel in an env var and an annotation.' },
            resync_seconds: { type: 'integer', minimum: 1, default: 30, description: 'How often unfinished jobs are re-derived, stuck jobs swept and unsaved results retried.' },
            files_sweep_seconds: { type: 'integer', minimum: 1, maximum: 604800, default: 3600, description: 'How often the data bucket is swept for the files of jobs whose Job is gone (deleted while no server watched).' },
            stager: {
              type: 'object',
              additionalProperties: false,
              required: ['image'],
              description: 'The image that stages the files of processes with file inputs or outputs: this server\'s own image.',
              properties: {
                image: { type: 'string', minLength: 1 },
                image_pull_policy: { type: 'string', enum: ['Always', 'IfNotPresent', 'Never'] },
              },
            },
          },
        },
        finalizer_controller: {
          type: 'boolean',
          default: false,
          description: 'Archive the logs of every job pod to S3 before Kubernetes deletes the pod (bucket from the K8S_MANAGER_FINALIZER_BUCKET_* variables).',
        },
        log_archive: {
          type: 'object',
          additionalProperties: false,
          default: {},
          description: 'How the log finalizer controller runs when finalizer_controller is true.',
          properties: {
            run_in_server: { type: 'boolean', default: true, description: 'false when the controller runs as its own process (npm run controller).' },
            lease_duration_seconds: { type: 'integer', minimum: 2, maximum: 300, default: 15, description: 'How long a dead leader holds the archiver lease before another replica takes over.' },
            max_retry_seconds: { type: 'integer', minimum: 1, maximum: 3600, default: 60, description: 'Longest wait between two attempts to archive a pod whose archive failed.' },
            resync_seconds: { type: 'integer', minimum: 1, default: 60, description: 'How often every pod that still holds the finalizer is reconciled.' },
          },
        },
      },
    },
    resources: {
      type: 'object',
      minProperties: 1,
      propertyNames: { pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$' },
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['type', 'processor'],
        properties: {
          type: { type: 'string', enum: ['process'] },
          processor: {
            type: 'object',
            required: ['name'],
            properties: { name: { type: 'string', minLength: 1 } },
          },
        },
      },
    },
  },
} as const;

export type ServerConfigFile = FromSchema<typeof serverConfigSchema>;

/** Job control options a configuration may set for a process. */
export const jobControlOptionsSchema = {
  type: 'array',
  minItems: 1,
  uniqueItems: true,
  items: jobControlOptionSchema,
} as const;
