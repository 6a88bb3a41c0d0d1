// Where a command is on PATH (an executable file), for tests that need a
// Debian tool (promtool, kubectl, helm) and skip with a message without it.

import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

export async function onPath(command: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, command);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}
