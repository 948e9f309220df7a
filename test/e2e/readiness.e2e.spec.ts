import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, spawnOpensim, type OpensimProcess } from '../support/opensim-process.js';
import { services, uniqueName, mongoUrlWithDatabase } from '../support/services.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

describe('opensim start: /healthz and /readyz', () => {
  let redisProxy: TcpProxy;
  let opensim: OpensimProcess;
  let base: string;

  beforeAll(async () => {
    redisProxy = await startTcpProxy(services().redisUrl, 6379);
    opensim = spawnOpensim(['start'], {
      NATS_URL: services().natsUrl,
      REDIS_URL: redisProxy.url(services().redisUrl),
      MONGO_URL: mongoUrlWithDatabase(uniqueName('ready')),
      OPENSIM_SUBJECT_PREFIX: uniqueName('rdy'),
      OPENSIM_HTTP_PORT: '0',
      OPENSIM_SHUTDOWN_GRACE_MS: '3000',
    });
    const started = await opensim.waitForLog((l) => l.msg === 'opensim started');
    base = `http://127.0.0.1:${String(started.httpPort)}`;
  });
  afterAll(async () => {
    await opensim?.kill('SIGTERM');
    await redisProxy?.close();
  });

  const readyz = async () => (await fetch(`${base}/readyz`)).status;

  it('answers 200 on /healthz and, once connected to NATS, Redis and MongoDB, 200 on /readyz', async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    await eventually(async () => (await readyz()) === 200);
  });

  it('answers 503 naming Redis while Redis is away, logs it, and recovers when it is back', async () => {
    await redisProxy.cut();
    await eventually(async () => (await readyz()) === 503);
    const body = (await (await fetch(`${base}/readyz`)).json()) as { services: Record<string, boolean> };
    expect(body.services).toEqual({ nats: true, redis: false, mongo: true });
    await opensim.waitForLog((l) => l.service === 'redis' && /not reachable/.test(l.msg));

    await redisProxy.restore();
    await eventually(async () => (await readyz()) === 200, 30_000);
    await opensim.waitForLog((l) => l.service === 'redis' && /is reachable/.test(l.msg) && opensim.logs.indexOf(l) > opensim.logs.findIndex((x) => /not reachable/.test(x.msg)));
  });

  it('exits 0 on SIGTERM', async () => {
    expect(await opensim.kill('SIGTERM')).toBe(0);
    await opensim.waitForLog((l) => l.msg === 'stopped');
  });
});
