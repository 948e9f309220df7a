import type { Msg } from 'nats';
import type { RunningSystem } from '../../src/app/system.js';
import type { PipelineClient } from './pipeline.js';

export interface OutcomePipeline {
  client: PipelineClient;
  system: RunningSystem;
  /** Every plan-change outcome message of the account, as NATS delivered it (headers included). */
  outcomes: Msg[];
  stop(): Promise<void>;
}

/**
 * A system in this process with one seeded line of `account`, and its plan-change outcomes
 * collected as raw messages. The pipeline is imported here, lazily: a tracing test starts
 * tracing first, as the entry points do (the MongoDB instrumentation patches the driver as it loads).
 */
export async function startOutcomePipeline(account: string): Promise<OutcomePipeline> {
  const { fleet, isolatedEnv, PipelineClient, startInProcess } = await import('./pipeline.js');
  const env = isolatedEnv();
  const client = await PipelineClient.open(env);
  await client.seed(fleet(account, 1));
  const system = await startInProcess(env);
  const outcomes: Msg[] = [];
  const sub = client.nc.subscribe(`${client.prefix}.evt.plan-change.${account}`);
  void (async () => {
    for await (const m of sub) outcomes.push(m);
  })();
  return {
    client,
    system,
    outcomes,
    async stop() {
      await system.stop();
      await client.cleanup();
    },
  };
}
