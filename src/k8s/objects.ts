// Minimal typed subsets of the Kubernetes objects Martello reads.
//
// These are the shapes `decode.ts` produces from untrusted YAML/JSON (manifest
// files) or API-server JSON. Only the fields translation needs are kept; every
// optional list is normalised to an empty array and every optional map to an
// empty object by the decoder, so consumers never test for `undefined` lists.
// Nothing here is a client-library type: the data plane never sees these.

export interface ObjectMeta {
  readonly name: string;
  /** Always set: the decoder fills in "default" for namespaced kinds without one, "" for cluster-scoped kinds. */
  readonly namespace: string;
  readonly uid: string | undefined;
  readonly resourceVersion: string | undefined;
  readonly generation: number | undefined;
  /** RFC 3339 timestamp as written; used for "oldest wins" conflict resolution. */
  readonly creationTimestamp: string | undefined;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

// ---- networking.k8s.io/v1 Ingress ----------------------------------------

export type PathType = 'Exact' | 'Prefix' | 'ImplementationSpecific';

export interface ServiceBackendPort {
  /** Exactly one of number and name is set (the decoder enforces it). */
  readonly number: number | undefined;
  readonly name: string | undefined;
}

export interface IngressServiceBackend {
  readonly name: string;
  readonly port: ServiceBackendPort;
}

export interface TypedLocalObjectReference {
  readonly apiGroup: string | undefined;
  readonly kind: string;
  readonly name: string;
}

/** Exactly one of service and resource is set (the decoder enforces it). */
export interface IngressBackend {
  readonly service: IngressServiceBackend | undefined;
  readonly resource: TypedLocalObjectReference | undefined;
}

export interface HTTPIngressPath {
  /** Undefined when omitted; only valid for ImplementationSpecific. */
  readonly path: string | undefined;
  readonly pathType: PathType;
  readonly backend: IngressBackend;
}

export interface IngressRule {
  /** Undefined means "every host". Lowercase: the decoder rejects uppercase hosts, as the API server does. */
  readonly host: string | undefined;
  /** Empty when the rule has no `http` section. */
  readonly paths: readonly HTTPIngressPath[];
}

export interface IngressTLS {
  readonly hosts: readonly string[];
  readonly secretName: string | undefined;
}

export interface IngressSpec {
  readonly ingressClassName: string | undefined;
  readonly defaultBackend: IngressBackend | undefined;
  readonly tls: readonly IngressTLS[];
  readonly rules: readonly IngressRule[];
}

export interface Ingress {
  readonly kind: 'Ingress';
  readonly apiVersion: 'networking.k8s.io/v1';
  readonly metadata: ObjectMeta;
  readonly spec: IngressSpec;
  /** Written by controllers, not by users: decoded leniently and never part of the routing model. */
  readonly status: LoadBalancerStatusHolder;
}

// ---- status.loadBalancer (Ingress and Service) ------------------------------

export interface LoadBalancerPortStatus {
  readonly port: number;
  readonly protocol: 'TCP' | 'UDP' | 'SCTP';
  readonly error?: string;
}

/**
 * One published address, in the API's own shape (absent fields are left out,
 * so an entry can go into a status patch as it is): an IP in `ip`, a DNS name
 * in `hostname`. external-dns reads exactly these two fields.
 */
export interface LoadBalancerIngress {
  readonly ip?: string;
  readonly hostname?: string;
  readonly ports?: readonly LoadBalancerPortStatus[];
}

export interface LoadBalancerStatusHolder {
  readonly loadBalancer: { readonly ingress: readonly LoadBalancerIngress[] };
}

// ---- networking.k8s.io/v1 IngressClass ------------------------------------

export interface IngressClass {
  readonly kind: 'IngressClass';
  readonly apiVersion: 'networking.k8s.io/v1';
  readonly metadata: ObjectMeta;
  readonly spec: { readonly controller: string };
}

// ---- v1 Service -------------------------------------------------------------

export interface ServicePort {
  readonly name: string | undefined;
  readonly port: number;
  /** Number or named container port; undefined means "same as port". */
  readonly targetPort: number | string | undefined;
  readonly protocol: 'TCP' | 'UDP' | 'SCTP';
  readonly appProtocol: string | undefined;
}

export interface Service {
  readonly kind: 'Service';
  readonly apiVersion: 'v1';
  readonly metadata: ObjectMeta;
  readonly spec: {
    readonly type: 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
    readonly ports: readonly ServicePort[];
    readonly externalName: string | undefined;
    /** "None" for headless Services, undefined when not (yet) allocated. */
    readonly clusterIP: string | undefined;
    readonly clusterIPs: readonly string[];
    readonly externalIPs: readonly string[];
  };
  /** status.loadBalancer.ingress, filled in by the cloud load balancer for type LoadBalancer. */
  readonly status: LoadBalancerStatusHolder;
}

// ---- discovery.k8s.io/v1 EndpointSlice -------------------------------------

export interface EndpointConditions {
  /** Per the API: a nil `ready` is to be interpreted as true (unknown state). */
  readonly ready: boolean | undefined;
  readonly serving: boolean | undefined;
  readonly terminating: boolean | undefined;
}

export interface Endpoint {
  readonly addresses: readonly string[];
  readonly conditions: EndpointConditions;
  readonly nodeName: string | undefined;
  readonly zone: string | undefined;
  /** Topology Aware Routing: the zones whose consumers should use this endpoint (`hints.forZones[].name`). */
  readonly hints?: EndpointHints;
}

export interface EndpointHints {
  readonly forZones: readonly string[];
}

export interface EndpointPort {
  /** Empty string when unnamed (the API's default). */
  readonly name: string;
  readonly port: number | undefined;
  readonly protocol: 'TCP' | 'UDP' | 'SCTP';
  readonly appProtocol: string | undefined;
}

export interface EndpointSlice {
  readonly kind: 'EndpointSlice';
  readonly apiVersion: 'discovery.k8s.io/v1';
  readonly metadata: ObjectMeta;
  readonly addressType: 'IPv4' | 'IPv6' | 'FQDN';
  readonly endpoints: readonly Endpoint[];
  readonly ports: readonly EndpointPort[];
}

// ---- v1 Secret --------------------------------------------------------------

export interface Secret {
  readonly kind: 'Secret';
  readonly apiVersion: 'v1';
  readonly metadata: ObjectMeta;
  readonly type: string;
  /** Decoded bytes of `data` (base64) merged with `stringData` (UTF-8), keyed by entry name. */
  readonly data: Readonly<Record<string, Uint8Array>>;
}

export type KubeObject = Ingress | IngressClass | Service | EndpointSlice | Secret;
export type KubeKind = KubeObject['kind'];

export const KUBE_KINDS: readonly KubeKind[] = ['Ingress', 'IngressClass', 'Service', 'EndpointSlice', 'Secret'];

/** The apiVersion each supported kind must carry. */
export const API_VERSIONS: Readonly<Record<KubeKind, string>> = {
  Ingress: 'networking.k8s.io/v1',
  IngressClass: 'networking.k8s.io/v1',
  Service: 'v1',
  EndpointSlice: 'discovery.k8s.io/v1',
  Secret: 'v1',
};

/** Label that ties an EndpointSlice to its Service. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
/** Legacy annotation selecting an ingress class by name. */
export const LEGACY_CLASS_ANNOTATION = 'kubernetes.io/ingress.class';
/** IngressClass annotation that makes class-less Ingresses belong to it. */
export const DEFAULT_CLASS_ANNOTATION = 'ingressclass.kubernetes.io/is-default-class';
