/** Shared helpers for page tests (jsdom + a stubbed fetch). */
import { act } from 'preact/test-utils';

/** A JSON answer, as the server gives it. */
export const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });

/** Lets pending fetches, JSON parsing and re-renders finish. */
export const flush = () =>
  act(async () => {
    for (let i = 0; i < 3; i++) await new Promise((r) => setTimeout(r, 5));
  });

/** Waits (up to ~2 s) until `check` finds something; the error shows what the page says. */
export async function waitFor<T>(check: () => T | null | undefined, page: () => string): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const v = check();
    if (v) return v;
    await flush();
  }
  throw new Error(`timed out; page shows: ${page()}`);
}
