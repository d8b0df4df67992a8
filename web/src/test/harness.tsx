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

/** A request the page made to the stubbed `fetch` (JSON bodies parsed). */
export interface SeenRequest {
  method: string;
  url: string;
  body: any;
  headers: Record<string, string>;
}

/** Stubs `fetch` with `handler`; returns the list the page's requests are recorded in. */
export function serveFetch(handler: (method: string, url: string, body: any) => Response, stub: (name: string, value: unknown) => void): SeenRequest[] {
  const requests: SeenRequest[] = [];
  stub('fetch', async (input: RequestInfo | URL, init?: RequestInit) => {
    const method = init?.method ?? 'GET';
    let body: any = init?.body;
    if (typeof body === 'string') {
      try {
        body = JSON.parse(body);
      } catch {
        /* not JSON: kept as sent */
      }
    }
    requests.push({ method, url: String(input), body, headers: (init?.headers ?? {}) as Record<string, string> });
    return handler(method, String(input), body);
  });
  return requests;
}
