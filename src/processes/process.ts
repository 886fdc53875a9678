import type { Readable } from 'node:stream';
import type { FileInputSpec } from '../job-data/file-inputs.js';
import type { InputDescription, OutputDescription } from '../ogc/schemas.js';

export type JobControlOption = 'sync-execute' | 'async-execute' | 'dismiss';

/** What GET /processes/{id} tells about a process, links aside. */
export interface ProcessDescription {
  id: string;
  version: string;
  title: string;
  description?: string;
  keywords?: string[];
  jobControlOptions: JobControlOption[];
  outputTransmission: Array<'value' | 'reference'>;
  inputs: Record<string, InputDescription>;
  outputs: Record<string, OutputDescription>;
}

/** A process the server offers, and the name of the job backend that runs its jobs. */
export interface Process {
  readonly description: ProcessDescription;
  readonly backend: string;
  /** Executions must carry the input `token` equal to K8S_MANAGER_API_TOKEN (it never reaches the job). */
  readonly requiresToken?: boolean;
  /** Inputs taken as files (stored before the job exists, given to it as files): input id → what it accepts. */
  readonly fileInputs?: Record<string, FileInputSpec>;
}

/** Outputs a job produced: output id → value. */
export type JobOutputs = Record<string, unknown>;

export interface RunContext {
  /** Aborted when the job is dismissed or the server shuts down. */
  signal: AbortSignal;
  reportProgress(percent: number): void;
  /**
   * Stores a file as the output `outputId` (in the media type its description declares), for outputs
   * too large or too binary to be values: clients get it by reference, by value or raw.
   */
  writeOutputFile(outputId: string, body: Readable | Uint8Array | string): Promise<void>;
  /** The bytes of a file input (the input's value is then its media type and size). */
  openInputFile(inputId: string): Promise<Readable>;
}

/** A process that runs inside the server (echo, hello-world). */
export interface LocalProcess extends Process {
  run(inputs: Record<string, unknown>, context: RunContext): Promise<JobOutputs>;
}
