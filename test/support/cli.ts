/** The `mcstack` command run in this process against a daemon's socket, its output kept. */
import { main } from '@mcstack/cli';

export async function runCli(
  sock: string,
  argv: readonly string[],
): Promise<{ code: number; out: string; err: string }> {
  const io = { out: '', err: '' };
  const code = await main([...argv, '--socket', sock], {
    out: (t) => {
      io.out += t;
    },
    err: (t) => {
      io.err += t;
    },
  });
  return { code, ...io };
}
