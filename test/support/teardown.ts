/** The end of a test that joined stacks: what an `after` hook or a `finally` does. */
import type { Stack } from '@mcstack/runtime';
import type { McNet } from '@mcstack/api';

/** Close the APIs, then stop the stacks together; either may be missing when setup failed part-way. */
export async function closeStacks(
  nets: readonly (McNet | null | undefined)[],
  stacks: readonly (Stack | undefined)[],
): Promise<void> {
  for (const n of nets) n?.close();
  await Promise.all(stacks.map((s) => s?.stop()));
}
