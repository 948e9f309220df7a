import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

const SCRIPT = resolve(import.meta.dirname, '../../scripts/services.sh');

/**
 * Runs `bash scripts/services.sh <verb>`, its output kept rather than shown: the caller says in
 * one line what it does. On failure the error carries the script's last lines, which say what it
 * tried and what to do.
 */
export function runServicesScript(verb: 'up' | 'tools'): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('bash', [SCRIPT, verb], { stdio: ['ignore', 'pipe', 'pipe'] });
    const output: string[] = [];
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) return resolvePromise();
      const tail = output.join('').trimEnd().split('\n').slice(-30).join('\n');
      reject(new Error(`bash scripts/services.sh ${verb} exited with ${code}:\n${tail}`));
    });
  });
}
