// Finding a route's origin in its Ingress: the model keeps only the Ingress
// name per target, so the rule and path index are looked up again in the
// Ingress objects, with the same reading of paths as translation
// (Prefix and ImplementationSpecific are element-wise prefixes, a trailing
// slash is insignificant, a missing path is "/").

import { normaliseHost } from '../dataplane/compile/host.ts';
import type { HTTPIngressPath, Ingress } from '../k8s/objects.ts';
import type { PathMatch } from '../model/model.ts';
import type { RuleSource } from './result.ts';

export function ingressName(ing: Ingress): string {
  return `${ing.metadata.namespace}/${ing.metadata.name}`;
}

/** The path match translation makes of an Ingress path (see passes/ingress-rules.ts). */
export function pathMatchOf(p: HTTPIngressPath): PathMatch {
  const path = p.path ?? '/';
  if (p.pathType === 'Exact') return { type: 'exact', path };
  let end = path.length;
  while (end > 1 && path.charCodeAt(end - 1) === 0x2f) end--;
  return { type: 'prefix', path: path.slice(0, end) };
}

export function pathSource(ing: Ingress, ruleIndex: number, pathIndex: number): RuleSource {
  const p = ing.spec.rules[ruleIndex]!.paths[pathIndex]!;
  return { ingress: ingressName(ing), field: `spec.rules[${ruleIndex}].http.paths[${pathIndex}]`, pathType: p.pathType, path: p.path ?? '/' };
}

export function defaultBackendSource(ing: Ingress): RuleSource {
  return { ingress: ingressName(ing), field: 'spec.defaultBackend' };
}

export class SourceIndex {
  readonly #byName: ReadonlyMap<string, Ingress>;

  constructor(ingresses: readonly Ingress[]) {
    this.#byName = new Map(ingresses.map((i) => [ingressName(i), i]));
  }

  get(name: string): Ingress | undefined {
    return this.#byName.get(name);
  }

  /** The first path of Ingress `name` whose rule host is `host` ("*": none) and whose match equals `match`: the claim that won. */
  route(name: string, host: string, match: PathMatch): RuleSource | null {
    const ing = this.#byName.get(name);
    if (ing === undefined) return null;
    for (const [r, rule] of ing.spec.rules.entries()) {
      const ruleHost = rule.host === undefined ? '*' : normaliseHost(rule.host);
      if (ruleHost !== host) continue;
      for (const [p, path] of rule.paths.entries()) {
        const m = pathMatchOf(path);
        if (m.type === match.type && m.path === match.path) return pathSource(ing, r, p);
      }
    }
    return null;
  }

  defaultBackend(name: string): RuleSource | null {
    const ing = this.#byName.get(name);
    return ing?.spec.defaultBackend === undefined ? null : defaultBackendSource(ing);
  }
}
