import type { CliIo } from '../../src/cli/io.js';

export interface CliRun {
  code: number;
  out: string;
  err: string;
}

const verbs = {
  dlq: () => import('../../src/cli/dlq.js'),
  audit: () => import('../../src/cli/audit.js'),
  queues: () => import('../../src/cli/queues.js'),
};

/**
 * Runs an operator verb in this process, as `opensim <verb> …` would, against the servers of
 * `env`. `answer` is what the operator says to a confirmation (undefined: no terminal).
 */
export async function opensimCli(verb: keyof typeof verbs, args: string[], env: Record<string, string>, answer?: boolean): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const questions: string[] = [];
  const io: CliIo = {
    out: (text) => out.push(text),
    err: (text) => err.push(text),
    env,
    confirm: async (question) => {
      questions.push(question);
      return answer;
    },
  };
  const code = await (await verbs[verb]()).run(args, io);
  return { code, out: out.join(''), err: [...questions.map((q) => `? ${q}\n`), ...err].join('') };
}
