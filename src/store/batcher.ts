/**
 * Group commit. What concurrent callers (the jobs of every partition, a usage batch, a sweep) ask
 * of one kind — read these documents, write these guarded updates — is gathered and sent as one
 * round trip; each caller gets its own answer. A request waits for the next turn of the event
 * loop (so everything asked in the same turn goes together) and, while `maxInFlight` round trips
 * of its kind are already out, until one comes back: under load, batches grow by themselves with
 * the time the server takes; alone, a request goes at once. Why: the MongoDB-wire test server
 * does every command under its collection's lock and commits its store after each one, so N
 * commands cost far more than one command of N (BENCHMARKS.md, "Group commit").
 */

/** One item's answer: its value, or the error that failed this item alone. */
export type Settled<O> = { ok: true; value: O } | { ok: false; error: unknown };

export interface BatchOptions {
  /** Items per round trip, at most. */
  maxBatch: number;
  /** Round trips of this kind out at once, at most. */
  maxInFlight: number;
}

interface Waiting<I, O> {
  item: I;
  resolve: (value: O) => void;
  reject: (error: unknown) => void;
}

export class Batcher<I, O> {
  private queue: Waiting<I, O>[] = [];
  private inFlight = 0;
  private scheduled = false;
  /** Round trips made and items sent: the batch size the load produced (bench, tests). */
  readonly stats = { batches: 0, items: 0 };

  /**
   * `run` answers every item of one batch, in order; a rejection of `run` fails the whole batch
   * (the server was away, say), a `Settled` error fails one item.
   */
  constructor(
    private readonly run: (items: I[]) => Promise<Settled<O>[]>,
    private readonly options: BatchOptions,
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.dispatch();
        });
      }
    });
  }

  submitAll(items: readonly I[]): Promise<O[]> {
    return Promise.all(items.map((item) => this.submit(item)));
  }

  private dispatch(): void {
    while (this.inFlight < this.options.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.options.maxBatch);
      this.inFlight += 1;
      this.stats.batches += 1;
      this.stats.items += batch.length;
      void this.send(batch).finally(() => {
        this.inFlight -= 1;
        this.dispatch();
      });
    }
  }

  private async send(batch: Waiting<I, O>[]): Promise<void> {
    let answers: Settled<O>[];
    try {
      answers = await this.run(batch.map((w) => w.item));
    } catch (err) {
      for (const w of batch) w.reject(err);
      return;
    }
    batch.forEach((w, k) => {
      const answer = answers[k];
      if (!answer) w.reject(new Error('group commit: no answer for an item of the batch'));
      else if (answer.ok) w.resolve(answer.value);
      else w.reject(answer.error);
    });
  }
}
