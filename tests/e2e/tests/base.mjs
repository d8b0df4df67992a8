// The lab's primitives shared by every helper module: settings from the environment that
// tests/e2e/run sets, sleeping and polling.
export const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set: run through tests/e2e/run`);
  return v;
};

export const BASE = env('CALLBASE__HTTP__PUBLIC_ORIGIN');
export const LAB_ADDR = env('CALLBASE_E2E_LAB_ADDR');
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value or `ms` pass. */
export async function until(what, fn, ms = 15000, every = 100) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await sleep(every);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
}
