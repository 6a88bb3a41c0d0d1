// Builders for the Kubernetes manifests process tests write into a
// temporary manifests directory: real kinds, as a cluster would accept them.

export interface ServiceSpec {
  readonly name: string;
  readonly namespace?: string;
  /** Ports of the backends (all on 127.0.0.1) that make up the Service's endpoints. */
  readonly endpointPorts: readonly number[];
  /** The Service port's appProtocol (e.g. "kubernetes.io/h2c"). */
  readonly appProtocol?: string;
}

/** A Service with one unnamed port 80 and one EndpointSlice per endpoint port. */
export function serviceYaml(spec: ServiceSpec): string {
  const ns = spec.namespace ?? 'default';
  const slices = spec.endpointPorts.map((port, i) => `---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: ${spec.name}-${i}
  namespace: ${ns}
  labels: { kubernetes.io/service-name: ${spec.name}, endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io }
addressType: IPv4
endpoints:
  - addresses: ["127.0.0.1"]
    conditions: { ready: true }
ports:
  - { name: "", port: ${port}, protocol: TCP }
`);
  return `apiVersion: v1
kind: Service
metadata: { name: ${spec.name}, namespace: ${ns} }
spec:
  ports: [{ port: 80${spec.appProtocol === undefined ? '' : `, appProtocol: ${spec.appProtocol}`} }]
${slices.join('')}`;
}

export interface RuleSpec {
  readonly host?: string;
  readonly paths: ReadonlyArray<{ readonly path: string; readonly pathType?: string; readonly service: string }>;
}

export function ingressYaml(name: string, rules: readonly RuleSpec[], namespace = 'default'): string {
  const ruleText = rules
    .map((r) => {
      const paths = r.paths
        .map((p) => `          - { path: "${p.path}", pathType: ${p.pathType ?? 'Prefix'}, backend: { service: { name: ${p.service}, port: { number: 80 } } } }`)
        .join('\n');
      return `    - ${r.host === undefined ? '' : `host: ${r.host}\n      `}http:\n        paths:\n${paths}`;
    })
    .join('\n');
  return `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: ${name}, namespace: ${namespace} }
spec:
  rules:
${ruleText}
`;
}
