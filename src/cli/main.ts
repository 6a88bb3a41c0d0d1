// Entry point of `bin/martello`: dispatches to a subcommand and turns
// usage mistakes into a message and exit code 2 instead of a stack trace.

import { runBackends } from './commands/backends.ts';
import { runCheck } from './commands/check.ts';
import { runController } from './commands/controller.ts';
import { runExplain } from './commands/explain.ts';
import { runRoutes } from './commands/routes.ts';
import { runServe } from './commands/serve.ts';
import { UsageError } from './listen-address.ts';
import { VERSION } from '../shared/version.ts';

const HELP = `martello: a reload-free, injection-free Kubernetes ingress controller

Usage: martello <command> [options]

Commands:
  serve --manifests DIR   route traffic from a directory of Kubernetes manifests (watched for changes)
  controller              run inside a Kubernetes cluster (not available yet in this version)
  check --manifests DIR   validate manifests and print every problem with its location
  routes --manifests DIR  print the effective host/path → service → endpoints table (or --kubeconfig FILE)
  backends --manifests DIR
                          print every backend cluster: protocol, balancing, endpoints and their conditions
  explain URL --manifests DIR
                          explain what happens to one request and why (or --kubeconfig FILE, --admin URL)
  version                 print the version

Run 'martello <command> --help' for the options of a command.
`;

type Command = (args: string[], out: NodeJS.WritableStream) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  serve: runServe,
  controller: runController,
  check: runCheck,
  routes: runRoutes,
  backends: runBackends,
  explain: runExplain,
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    if (name === 'help' && rest[0] !== undefined && COMMANDS[rest[0]] !== undefined) return COMMANDS[rest[0]]!(['--help'], process.stdout);
    process.stdout.write(HELP);
    return name === undefined ? 2 : 0;
  }
  if (name === 'version' || name === '--version') {
    process.stdout.write(`martello ${VERSION} (node ${process.version})\n`);
    return 0;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    process.stderr.write(`martello: unknown command "${name}"\n\n${HELP}`);
    return 2;
  }
  try {
    return await command(rest, process.stdout);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`martello ${name}: ${err.message}\nRun 'martello ${name} --help' for usage.\n`);
      return 2;
    }
    process.stderr.write(`martello ${name}: ${(err as Error).message}\n`);
    return 1;
  }
}


// `martello routes | head`: a reader that stops reading ends the output quietly, as for any Unix tool.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  process.exit(process.exitCode ?? 0);
});

process.exitCode = await main(process.argv.slice(2));
