import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { planServers, type PortProbe } from './local-servers.js';

/** A probe that answers for the given ports and records what it was asked. */
function probe(answering: number[]): PortProbe & { asked: string[] } {
  const asked: string[] = [];
  return Object.assign(async (host: string, port: number) => {
    asked.push(`${host}:${port}`);
    return answering.includes(port);
  }, { asked });
}

const noEnvFile = () => ({ SERVICES_DIR: mkdtempSync(join(tmpdir(), 'plan-')) });

describe('npm start: which servers, and whether to start them', () => {
  it('with any server URL set, uses the configuration as it is: probes nothing, starts nothing', async () => {
    for (const name of ['NATS_URL', 'REDIS_URL', 'MONGO_URL']) {
      const p = probe([]);
      expect(await planServers({ ...noEnvFile(), [name]: 'x://somewhere:1' }, p)).toEqual({ mode: 'configured' });
      expect(p.asked).toEqual([]);
    }
  });

  it('with none set and all three answering on the default addresses, uses them without starting anything', async () => {
    const p = probe([4222, 6379, 27017]);
    expect(await planServers(noEnvFile(), p)).toEqual({
      mode: 'local',
      start: false,
      urls: { NATS_URL: 'nats://127.0.0.1:4222', REDIS_URL: 'redis://127.0.0.1:6379', MONGO_URL: 'mongodb://127.0.0.1:27017/opensim' },
    });
    expect(p.asked).toEqual(['127.0.0.1:4222', '127.0.0.1:6379', '127.0.0.1:27017']);
  });

  it('with none set and one of them not answering, starts the local servers, naming what is down', async () => {
    expect(await planServers(noEnvFile(), probe([4222, 27017]))).toMatchObject({ mode: 'local', start: true, down: ['127.0.0.1:6379'] });
    expect(await planServers(noEnvFile(), probe([]))).toMatchObject({ mode: 'local', start: true, down: ['127.0.0.1:4222', '127.0.0.1:6379', '127.0.0.1:27017'] });
  });

  it("prefers the addresses the services script wrote (servers started on other ports)", async () => {
    const env = noEnvFile();
    writeFileSync(join(env.SERVICES_DIR, 'env'), 'export NATS_URL=nats://127.0.0.1:14222\nexport REDIS_URL=redis://127.0.0.1:16379\nexport MONGO_URL=mongodb://127.0.0.1:37017/opensim\n');
    const p = probe([14222, 16379, 37017]);
    expect(await planServers(env, p)).toMatchObject({ mode: 'local', start: false, urls: { NATS_URL: 'nats://127.0.0.1:14222' } });
    expect(p.asked).toEqual(['127.0.0.1:14222', '127.0.0.1:16379', '127.0.0.1:37017']);
  });
});
