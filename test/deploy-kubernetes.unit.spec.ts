import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { parseRoleList, ROLE_GROUPS } from '../src/app/role-selection.js';
import { loadConfig } from '../src/config/config.js';
import { isClusterUrl } from '../src/infra/redis.js';
import { natsServers } from '../src/infra/nats-options.js';

interface Manifest {
  kind: string;
  metadata: { name: string };
  data?: Record<string, string>;
  spec?: {
    replicas?: number;
    template?: {
      spec: {
        terminationGracePeriodSeconds: number;
        containers: { args: string[]; ports: { name: string; containerPort: number }[]; readinessProbe: { httpGet: { path: string; port: string } }; livenessProbe: { httpGet: { path: string; port: string } } }[];
      };
    };
  };
}

const manifests = parseAllDocuments(readFileSync(new URL('../deploy/kubernetes/opensim.yaml', import.meta.url), 'utf8')).map((d) => d.toJS() as Manifest);
const config = manifests.find((m) => m.kind === 'ConfigMap')!.data!;
const deployments = manifests.filter((m) => m.kind === 'Deployment');

/** deploy/kubernetes/opensim.yaml, the deployment shape of docs/scaling.md, against the code it runs. */
describe('deploy/kubernetes: one Deployment per role, on clustered servers', () => {
  it('the ConfigMap is a valid configuration naming the clusters: three NATS servers, a Redis Cluster, streams at 3 replicas', () => {
    const parsed = loadConfig({ ...config, OPENSIM_ADMIN_TOKEN: 'x'.repeat(24) });
    expect(natsServers(parsed.NATS_URL)).toHaveLength(3);
    expect(isClusterUrl(parsed.REDIS_URL)).toBe(true);
    expect(parsed.OPENSIM_STREAM_REPLICAS).toBe(3);
  });

  it('every role of opensim start runs in exactly one Deployment, through --roles', () => {
    const roles = deployments.flatMap((d) => {
      const args = d.spec!.template!.spec.containers[0]!.args;
      expect(args.slice(0, 2), d.metadata.name).toEqual(['start', '--roles']);
      return parseRoleList(args[2]!);
    });
    expect([...roles].sort()).toEqual(Object.keys(ROLE_GROUPS).sort());
  });

  it('each process: readiness on /readyz and liveness on /healthz at the configured port, a grace period longer than OPENSIM_SHUTDOWN_GRACE_MS', () => {
    const { OPENSIM_HTTP_PORT, OPENSIM_SHUTDOWN_GRACE_MS } = loadConfig(config);
    for (const d of deployments) {
      const pod = d.spec!.template!.spec;
      const container = pod.containers[0]!;
      expect(container.ports, d.metadata.name).toEqual([{ name: 'http', containerPort: OPENSIM_HTTP_PORT }]);
      expect([container.readinessProbe.httpGet, container.livenessProbe.httpGet], d.metadata.name).toEqual([{ path: '/readyz', port: 'http' }, { path: '/healthz', port: 'http' }]);
      expect(pod.terminationGracePeriodSeconds * 1000, d.metadata.name).toBeGreaterThan(OPENSIM_SHUTDOWN_GRACE_MS);
    }
  });
});
