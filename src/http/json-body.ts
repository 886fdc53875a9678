import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { InvalidRequest, shortName, UnsupportedMediaType } from '../errors.js';

export interface JsonBodyLimits {
  maxBytes: number;
  /** How deeply objects and arrays may nest; the root object or array is level 1. */
  maxDepth: number;
}

/**
 * Reads a JSON request body: it must say it is JSON, fit the size limit once decompressed, nest no
 * deeper than the depth limit (what comes after it, JSON.stringify and ajv among it, recurses),
 * and hold only finite numbers (JSON.parse turns 1e400 into Infinity, which JSON cannot carry back).
 */
export function jsonBody(limits: JsonBodyLimits): RequestHandler[] {
  const parse = express.json({ limit: limits.maxBytes, type: () => true, strict: false });
  const check = (req: Request, _res: Response, next: NextFunction) => next(jsonValueProblem(req.body, limits.maxDepth));
  return [requireJson, parse, check];
}

function requireJson(req: Request, _res: Response, next: NextFunction): void {
  const type = req.headers['content-type'];
  if (!type || !/^application\/([\w.+-]+\+)?json\s*(;|$)/i.test(type)) {
    next(new UnsupportedMediaType(`The request body must be sent as application/json${type ? `, not ${type.split(';')[0]}` : '; the Content-Type header is missing'}.`));
    return;
  }
  next();
}

/** A container met on the walk, with the way back to the root for the error message. */
interface Frame {
  value: object;
  /** 1 for the root. */
  level: number;
  parent?: Frame;
  key?: string;
}

/** Walks the parsed body without recursion (it may nest as deep as the body is long). */
export function jsonValueProblem(body: unknown, maxDepth: number): InvalidRequest | undefined {
  if (typeof body === 'number') return Number.isFinite(body) ? undefined : nonFinite(undefined, undefined);
  if (typeof body !== 'object' || body === null) return undefined;
  const stack: Frame[] = [{ value: body, level: 1 }];
  for (let frame = stack.pop(); frame; frame = stack.pop()) {
    if (frame.level > maxDepth) {
      return new InvalidRequest(
        `The request body nests objects and arrays more than ${maxDepth} levels deep, this server's limit (server.limits.max_body_depth), at ${pointer(frame)}.`,
      );
    }
    const record = frame.value as Record<string, unknown>;
    for (const key of Array.isArray(record) ? record.keys() : Object.keys(record)) {
      const child = record[key];
      if (typeof child === 'number' && !Number.isFinite(child)) return nonFinite(frame, String(key));
      if (typeof child === 'object' && child !== null) stack.push({ value: child, level: frame.level + 1, parent: frame, key: String(key) });
    }
  }
  return undefined;
}

function nonFinite(parent: Frame | undefined, key: string | undefined): InvalidRequest {
  const where = parent && key !== undefined ? `${pointer(parent)}/${escape(key)}` : '/';
  return new InvalidRequest(`The number at ${where} is beyond what a 64-bit float holds (±1.8e308); send a finite number, or a string if it must be exact.`);
}

/** The JSON Pointer (RFC 6901) of a frame, its names cut short. */
function pointer(frame: Frame): string {
  const segments: string[] = [];
  for (let at: Frame | undefined = frame; at?.key !== undefined; at = at.parent) segments.push(escape(at.key));
  return segments.length > 0 ? `/${segments.reverse().join('/')}` : '/';
}

function escape(key: string): string {
  return shortName(key).replace(/~/g, '~0').replace(/\//g, '~1');
}
