import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connect } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningSystem } from '../../src/app/system.js';
import { loadConfig } from '../../src/config/config.js';
import { natsAccessOptions } from '../../src/infra/nats-options.js';
import { startNatsServer, type OwnNatsServer } from '../support/nats-server.js';
import { fleet, isolatedEnv, PipelineClient, startInProcess } from '../support/pipeline.js';
import { services } from '../support/services.js';

const run = promisify(execFile);
const ACC = 'TLS';

/** A throwaway CA and a server certificate for 127.0.0.1, made with openssl. */
async function makeCertificates(dir: string): Promise<{ ca: string; cert: string; key: string }> {
  const at = (f: string) => join(dir, f);
  await run('openssl', ['version']).catch((err: Error) => {
    throw new Error(`this test makes its certificates with openssl, which did not run (${err.message}): apt-get install openssl`);
  });
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', at('ca.key'), '-out', at('ca.pem'), '-days', '1', '-subj', '/CN=opensim test CA']);
  await run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', at('server.key'), '-out', at('server.csr'), '-subj', '/CN=127.0.0.1']);
  await writeFile(at('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  await run('openssl', ['x509', '-req', '-in', at('server.csr'), '-CA', at('ca.pem'), '-CAkey', at('ca.key'), '-CAcreateserial', '-out', at('server.pem'), '-days', '1', '-extfile', at('san.ext')]);
  return { ca: at('ca.pem'), cert: at('server.pem'), key: at('server.key') };
}

describe('NATS over TLS when the URL asks for it', () => {
  let dir: string;
  let server: OwnNatsServer;
  let ca: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'opensim-tls-'));
    const certs = await makeCertificates(dir);
    ca = certs.ca;
    await writeFile(join(dir, 'server.conf'), `listen: 127.0.0.1:-1\njetstream { store_dir: "${join(dir, 'js')}" }\ntls { cert_file: "${certs.cert}", key_file: "${certs.key}" }\n`);
    server = await startNatsServer(join(dir, 'server.conf'), {});
  });

  afterAll(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('tls:// with NATS_TLS_CA: the system runs over TLS end to end', async () => {
    const env = isolatedEnv({ NATS_URL: `tls://127.0.0.1:${server.port}`, NATS_TLS_CA: ca });
    const client = await PipelineClient.open(env);
    let system: RunningSystem | undefined;
    try {
      await client.seed(fleet(ACC, 1));
      system = await startInProcess(env);
      await client.planChange({ requestId: 'tls-1', clientAccountId: ACC, serviceRef: `SVC-${ACC}`, lineId: `${ACC}-L0`, targetResourceId: `${ACC}-L0-FPC367678-0`, requestedAt: '2026-11-15T10:00:00+01:00' });
      await client.waitForEvents((e) => e.type === 'opensim.plan-change.applied' && e.data.requestId === 'tls-1');
      expect(client.nc.info?.tls_required).toBe(true);
    } finally {
      await system?.stop();
      await client.cleanup();
    }
  });

  it('refuses a server whose certificate it cannot verify, and a tls:// URL to a server without TLS', async () => {
    const untrusted = natsAccessOptions(loadConfig({ NATS_URL: `tls://127.0.0.1:${server.port}` }));
    await expect(connect({ servers: `tls://127.0.0.1:${server.port}`, ...untrusted, reconnect: false })).rejects.toThrow(/certificate/i);
    const plain = new URL(services().natsUrl);
    const toPlain = `tls://${plain.host}`;
    await expect(connect({ servers: toPlain, ...natsAccessOptions(loadConfig({ NATS_URL: toPlain })), reconnect: false })).rejects.toThrow(/tls/i);
  });
});
