// Everything translation depends on besides the snapshot. Passed in
// explicitly so translation stays a pure function of its inputs.

import type { LoadBalancingPolicy } from '../model/model.ts';

export interface TranslateOptions {
  /** IngressClass.spec.controller value that marks a class as ours. */
  readonly controllerClass: string;
  /** Class name matched against the legacy kubernetes.io/ingress.class annotation. */
  readonly ingressClass: string;
  /** Serve Ingresses that name no class at all. */
  readonly watchIngressWithoutClass: boolean;
  /** Accept endpoints in loopback and link-local ranges (standalone mode and single-machine tests). */
  readonly allowLoopbackEndpoints: boolean;
  /** Default of the ssl-redirect annotation: plain HTTP to hosts with TLS gets a 308 to https. */
  readonly sslRedirect: boolean;
  /** "namespace/name" of the kubernetes.io/tls Secret served when no TLS host matches (--default-ssl-certificate). */
  readonly defaultCertificate?: string;
  /** Balancing policy of clusters whose Ingress sets none (--load-balance); absent: round-robin. */
  readonly loadBalancing?: LoadBalancingPolicy;
  /**
   * Who may add rules to a host: 'namespace' (default) gives each host to the
   * namespace of its oldest Ingress and refuses rules and TLS entries for it
   * from other namespaces; 'merge' merges rules from every namespace, as
   * ingress-nginx does (--allow-cross-namespace-hosts). Absent: 'namespace'.
   */
  readonly hostSharing?: HostSharing;
  /**
   * EndpointSlices are used only when their endpointslice.kubernetes.io/managed-by
   * label names one of these (Kubernetes mode: the cluster's own controllers,
   * so a tenant who may write EndpointSlices cannot point a Service at other
   * namespaces' Pods: CVE-2021-25740). Absent: every slice (manifests mode).
   */
  readonly endpointSliceManagers?: readonly string[];
}

/** The cluster's EndpointSlice controller and the mirroring controller (slices for Services without selectors, from Endpoints). */
export const KUBERNETES_ENDPOINTSLICE_MANAGERS: readonly string[] = Object.freeze(['endpointslice-controller.k8s.io', 'endpointslicemirroring-controller.k8s.io']);

export type HostSharing = 'namespace' | 'merge';

export const DEFAULT_CONTROLLER_CLASS = 'martello.dev/ingress-controller';
export const DEFAULT_INGRESS_CLASS = 'martello';

export const DEFAULT_TRANSLATE_OPTIONS: TranslateOptions = {
  controllerClass: DEFAULT_CONTROLLER_CLASS,
  ingressClass: DEFAULT_INGRESS_CLASS,
  watchIngressWithoutClass: true,
  allowLoopbackEndpoints: true,
  sslRedirect: true,
};
