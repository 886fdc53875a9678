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

  find(processId: string): Process | undefined {
    return this.byId.get(processId);
  }

  get(processId: string): Process {
    const process = this.find(processId);
    if (!process) throw new NoSuchProcess(processId);
    return process;
  }
}
