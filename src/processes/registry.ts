import { NoSuchProcess } from '../errors.js';
import type { Process } from './process.js';

/** The processes this server offers, in configuration order. */
export class ProcessRegistry {
  private readonly byId: Map<string, Process>;

  constructor(processes: Process[]) {
    this.byId = new Map(processes.map((process) => [process.description.id, process]));
  }

  list(): Process[] {
    return [...this.byId.values()];
  }

  get(processId: string): Process {
    const process = this.byId.get(processId);
    if (!process) throw new NoSuchProcess(processId);
    return process;
  }
}
