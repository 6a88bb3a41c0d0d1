// networking.k8s.io/v1 IngressClass: cluster-scoped, names the controller that owns it.

import type { IngressClass } from './objects.ts';
import { reqObject, reqString, type JsonObject, type Problems } from './decode-fields.ts';
import { decodeMeta } from './decode-meta.ts';

const MAX_CONTROLLER_LENGTH = 250;

export function decodeIngressClass(p: Problems, raw: JsonObject): IngressClass {
  const metadata = decodeMeta(p, raw, { namespaced: false, nameFormat: 'dns1123-subdomain' });
  const spec = reqObject(p, raw, 'spec', '');
  const controller = reqString(p, spec, 'controller', 'spec');
  // The API server wants a domain-prefixed path ("example.com/ingress"); we
  // only refuse what can never match a --controller-class value.
  if (controller.length > MAX_CONTROLLER_LENGTH) {
    p.add('spec.controller', 'field-too-long', `Too long: must have at most ${MAX_CONTROLLER_LENGTH} characters`);
  } else if (/\s/.test(controller)) {
    p.invalid('spec.controller', `Invalid value ${JSON.stringify(controller)}: must not contain whitespace`);
  }
  return { kind: 'IngressClass', apiVersion: 'networking.k8s.io/v1', metadata, spec: { controller } };
}
