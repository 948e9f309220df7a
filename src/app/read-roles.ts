import { ConsoleSurface } from '../http/console/console-surface.js';
import { QueryResponder } from '../queries/query-responder.js';
import type { Pipeline } from '../platform/pipeline.js';
import type { Role } from './system.js';

/**
 * The read side (docs/monitoring-and-console.md): NATS queries, the console and its HTTP
 * API. Started last, so stopped first: nobody is answered from a pipeline that is shutting down.
 */
export function readRoles(pipeline: Pipeline): Role[] {
  return [new QueryResponder(pipeline), new ConsoleSurface(pipeline)];
}
