import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';

const BIN_DIR = resolve(import.meta.dirname, '../../.services/bin');

/** A nats-server of our own, for tests that need a server configuration (permissions, TLS). */
export interface OwnNatsServer {
  url: string;
  port: number;
  log: string[];
  stop(): Promise<void>;
}

/** The nats-server binary that scripts/services.sh builds (2.10, as in CI and docker-compose). */
export function natsServerBinary(): string {
  const found = existsSync(BIN_DIR) ? readdirSync(BIN_DIR).filter((f) => f.startsWith('nats-server')).sort().at(-1) : undefined;
  if (!found) throw new Error(`no nats-server binary in ${BIN_DIR}: build it with \`bash scripts/services.sh up\` (it installs nats-server 2.10 there)`);
  return resolve(BIN_DIR, found);
}

/** Starts `nats-server -c <config>` on a random loopback port (the config must listen on 127.0.0.1:-1). */
export async function startNatsServer(configFile: string, env: Record<string, string>): Promise<OwnNatsServer> {
  const child: ChildProcess = spawn(natsServerBinary(), ['-c', configFile], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const log: string[] = [];
  const port = await new Promise<number>((resolvePort, reject) => {
    const timer = setTimeout(() => reject(new Error(`nats-server did not start within 10 s:\n${log.join('')}`)), 10_000);
    const onData = (chunk: Buffer) => {
      log.push(chunk.toString('utf8'));
      const match = /Listening for client connections on 127\.0\.0\.1:(\d+)/.exec(log.join(''));
      if (match) {
        clearTimeout(timer);
        resolvePort(Number(match[1]));
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`nats-server exited with ${code}:\n${log.join('')}`));
    });
  });
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    log,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
