import type { Fixture } from '../contract/fixture.js';
import type { KindCounts, SeedSummary } from '../store/seed.js';

/** Lines per write: a large file is seeded in pieces so that progress can be shown and memory stays flat. */
export const LINES_PER_CHUNK = 10_000;

/**
 * A validated fixture cut into fixtures seeded one after the other, each valid on its own given
 * the products, which the first one writes. The first holds the products, every service and the resources no line uses; each holds
 * its lines with their active resources and services, so seeding a piece is seeding what the
 * whole file says about them (a line and its resource are written together, as in one seed).
 * Services repeat in later pieces: their counts are taken from the first piece only.
 */
export function seedChunks(fixture: Fixture, linesPerChunk = LINES_PER_CHUNK): Fixture[] {
  const services = new Map(fixture.services.map((s) => [s.serviceRef, s]));
  const resources = new Map(fixture.resources.map((r) => [r.resourceId, r]));
  const active = new Set(fixture.lines.map((line) => line.activeResourceId));
  const chunks: Fixture[] = [];
  for (let start = 0; start < fixture.lines.length || start === 0; start += linesPerChunk) {
    const lines = fixture.lines.slice(start, start + linesPerChunk);
    const own = lines.map((line) => resources.get(line.activeResourceId)!);
    chunks.push(
      start === 0
        ? { products: fixture.products, services: fixture.services, resources: [...fixture.resources.filter((r) => !active.has(r.resourceId)), ...own], lines }
        : { products: [], services: [...new Set(lines.map((line) => line.serviceRef))].map((ref) => services.get(ref)!), resources: own, lines },
    );
  }
  return chunks;
}

/** Entries a piece writes, for progress. */
export function entriesOf(fixture: Fixture): number {
  return fixture.products.length + fixture.services.length + fixture.resources.length + fixture.lines.length;
}

/** The summary of the whole file from those of its pieces (services and products: the first piece). */
export function mergeSummaries(summaries: SeedSummary[]): SeedSummary {
  const sum = (kind: 'resources' | 'lines'): KindCounts =>
    summaries.reduce((total, s) => ({ inserted: total.inserted + s[kind].inserted, updated: total.updated + s[kind].updated, unchanged: total.unchanged + s[kind].unchanged }), { inserted: 0, updated: 0, unchanged: 0 });
  return { products: summaries[0]!.products, services: summaries[0]!.services, resources: sum('resources'), lines: sum('lines') };
}
