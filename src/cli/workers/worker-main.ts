// Entry point of a data-plane worker process, forked by the primary
// (worker-pool.ts) with an IPC channel. Binds the WorkerRuntime to that
// channel and to the process: the primary decides when to stop, so SIGINT
// (a terminal's Ctrl-C reaches the whole process group) is left to it; a
// SIGTERM sent to this worker alone drains it (the primary then replaces it);
// and a worker whose primary has gone drains and exits rather than serve a
// configuration nobody updates.

import { createLogger } from '../../shared/log.ts';
import { WORKER_SLOT_ENV, type WorkerMessage } from './protocol.ts';
import { WorkerRuntime } from './worker.ts';

const slot = Number(process.env[WORKER_SLOT_ENV] ?? '0');
const logger = createLogger(process.stderr, 'info', { worker: slot, pid: process.pid });

if (process.send === undefined) {
  logger.error('a worker must be started by the primary process with an IPC channel');
  process.exit(2);
}

const runtime = new WorkerRuntime({
  logger,
  logSink: process.stderr,
  exit: (code) => process.exit(code),
  channel: {
    send(message: WorkerMessage): void {
      if (!process.connected) return;
      // A callback keeps a send on a closing channel from becoming an 'error' event.
      process.send!(message, undefined, {}, (err) => {
        if (err !== null && err !== undefined) logger.debug('message to the primary not delivered', { type: message.type, err });
      });
    },
  },
});

process.on('message', (raw) => runtime.handle(raw));
process.on('disconnect', () => void runtime.drain('the primary process is gone'));
process.on('SIGINT', () => {});
process.on('SIGTERM', () => void runtime.drain('SIGTERM'));
runtime.hello();
