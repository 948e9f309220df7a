import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { parseFixture } from '../contract/fixture.js';
import { assertMonth, computeEnvelope, isInstant, parisMonth, toEpochMs, type PlanPeriodStart, type ProductCatalog } from '../domain/index.js';

const USAGE = `usage: opensim envelope --catalog <file> --plan <productRef>@<instant> [--plan …] [--month YYYY-MM]

  --catalog  fixture file (CONTRACT.md format) holding the products
  --plan     productRef@instant (RFC 3339 with offset); the first is the plan in force since
             that instant (activation if inside the month), each later one a change at that instant
  --month    month to compute (Paris), default: the month of the last --plan
`;

/** A bad command line: reported with the usage, exit code 2. */
class UsageError extends Error {}

/** `opensim envelope`: prints the prorated data envelope of a month as JSON. */
export async function run(args: string[]): Promise<number> {
  try {
    const options = parseOptions(args);
    if (options === 'help') {
      process.stdout.write(USAGE);
      return 0;
    }
    const products = await loadCatalog(options.catalog);
    const plans = options.plans.map((plan) => parsePlan(plan, products));
    assertChronological(plans);
    const month = options.month === undefined ? parisMonth(plans.at(-1)!.effectiveAt) : checkedMonth(options.month);
    process.stdout.write(`${JSON.stringify(computeEnvelope(plans, month, products), null, 2)}\n`);
    return 0;
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`opensim envelope: ${err.message}\n(opensim envelope --help shows the usage)\n`);
    return 2;
  }
}

function parseOptions(args: string[]): { catalog: string; plans: string[]; month: string | undefined } | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        catalog: { type: 'string' },
        plan: { type: 'string', multiple: true },
        month: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) return 'help';
  if (!values.catalog) throw new UsageError('--catalog <file> is required');
  if (!values.plan || values.plan.length === 0) throw new UsageError('at least one --plan <productRef>@<instant> is required');
  return { catalog: values.catalog, plans: values.plan, month: values.month };
}

async function loadCatalog(file: string): Promise<ProductCatalog> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read catalog '${file}': ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`catalog '${file}' is not JSON: ${(err as Error).message}`);
  }
  const parsed = parseFixture(json);
  if (!parsed.ok) throw new UsageError(`catalog '${file}' is invalid:\n  ${parsed.errors.join('\n  ')}`);
  return Object.fromEntries(parsed.fixture.products.map((product) => [product.productRef, product]));
}

function parsePlan(plan: string, products: ProductCatalog): PlanPeriodStart {
  const at = plan.lastIndexOf('@');
  if (at <= 0) throw new UsageError(`--plan '${plan}': expected <productRef>@<instant>, e.g. FPC367679@2026-10-01T00:00:00+02:00`);
  const productRef = plan.slice(0, at);
  const effectiveAt = plan.slice(at + 1);
  if (!products[productRef]) {
    throw new UsageError(`--plan '${plan}': unknown product '${productRef}' (catalog has ${Object.keys(products).join(', ')})`);
  }
  if (!isInstant(effectiveAt)) {
    throw new UsageError(`--plan '${plan}': invalid instant '${effectiveAt}', expected RFC 3339 with an offset, e.g. 2026-11-15T10:00:00+01:00`);
  }
  return { productRef, effectiveAt };
}

function assertChronological(plans: readonly PlanPeriodStart[]): void {
  plans.slice(1).forEach((plan, i) => {
    const previous = plans[i]!;
    if (toEpochMs(plan.effectiveAt) < toEpochMs(previous.effectiveAt)) {
      throw new UsageError(`--plan ${plan.productRef}@${plan.effectiveAt} is before the previous --plan ${previous.productRef}@${previous.effectiveAt}; give plans in chronological order`);
    }
  });
}

function checkedMonth(month: string): string {
  try {
    return assertMonth(month);
  } catch (err) {
    throw new UsageError(`--month: ${(err as Error).message}`);
  }
}
