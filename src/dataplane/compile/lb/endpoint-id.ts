// Stable endpoint identifiers: what a persistent affinity cookie carries and
// what the hash tables are built from. An identifier is the first 64 bits
// (16 hex digits) of HMAC-SHA256 over "address:port", keyed with the
// Service's "namespace/name". It depends only on those, so every Martello
// replica computes the same one without shared state, it survives endpoints
// being added or removed around it (unlike a list position), and two
// Services on the same Pod get different identifiers.
//
// It keeps Pod addresses out of plain sight in cookies, but it is not a
// secret: the key is known, and Pod address ranges are small enough to
// search. Nothing in Martello trusts it beyond "which endpoint did this
// client use before".

import { createHmac } from 'node:crypto';
import type { EndpointAddress } from '../../../model/model.ts';

const DOMAIN = 'martello endpoint id v1|';

export function endpointId(service: string, e: EndpointAddress): string {
  return createHmac('sha256', DOMAIN + service).update(`${e.address}:${e.port}`).digest('hex').slice(0, 16);
}

export function endpointIds(service: string, endpoints: readonly EndpointAddress[]): string[] {
  return endpoints.map((e) => endpointId(service, e));
}
