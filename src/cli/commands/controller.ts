// `martello controller`: Kubernetes mode. The API-server source is not part
// of this version yet; say so plainly instead of pretending.

export const CONTROLLER_HELP = `Usage: martello controller [--kubeconfig FILE] [options]

Kubernetes mode: watches Ingresses, IngressClasses, Services, EndpointSlices
and Secrets through the API server and publishes Ingress status.

Not available in this version: use 'martello serve --manifests DIR' (standalone
mode, same routing) until the Kubernetes source lands.
`;

export async function runController(args: string[], out: NodeJS.WritableStream): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    out.write(CONTROLLER_HELP);
    return 0;
  }
  process.stderr.write('martello controller: Kubernetes mode is not available in this version; use `martello serve --manifests DIR`\n');
  return 2;
}
