import type { Response } from 'express';

const STREAMING = Symbol('streaming');

/**
 * Marks a response that lasts as long as its client wants (an event stream, a followed log): its
 * duration says nothing about the server's speed, so request timing leaves it out.
 */
export function markStreaming(res: Response): void {
  (res as Response & { [STREAMING]?: true })[STREAMING] = true;
}

export function isStreaming(res: Response): boolean {
  return (res as Response & { [STREAMING]?: true })[STREAMING] === true;
}
