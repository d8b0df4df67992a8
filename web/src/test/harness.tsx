/**
 * The one render harness of page tests (jsdom): a fresh root per test, English, a CSRF cookie, a
 * stubbed `fetch` that records requests, and a stand-in `/events` socket ({@link FakeSocket}) so no
 * test opens a real one. Call {@link pageHarness} once at the top of a test file.
 */
import { render, type ComponentChild } from 'preact';
import { act } from 'preact/test-utils';
import { afterEach, beforeEach, vi } from 'vitest';
import { setLang } from '../shared/i18n';

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

export type Handler = (method: string, url: string, body: any) => Response | Promise<Response>;

/** Stubs `fetch` with `handler`; returns the list the page's requests are recorded in. */
export function serveFetch(handler: Handler, stub: (name: string, value: unknown) => void): SeenRequest[] {
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

/** The stand-in for the tab's `/events` socket: tests push server messages through {@link FakeSocket.push}. */
export class FakeSocket {
  static last: FakeSocket | undefined;
  onopen?: () => void;
  onmessage?: (e: { data: string }) => void;
  onclose?: (e?: { code: number; reason: string }) => void;
  closed = false;
  constructor(readonly url: string) {
    FakeSocket.last = this;
  }
  close() {
    this.closed = true;
  }
  push(msg: unknown) {
    this.onmessage?.({ data: JSON.stringify(msg) });
  }
}

export interface Harness {
  /** The element pages render into (new for each test). */
  readonly root: HTMLElement;
  /** The requests of the last {@link Harness.serve}. */
  readonly requests: SeenRequest[];
  /** Renders into the root. */
  show(vnode: ComponentChild): void;
  /** Answers the page's requests with `handler`; returns the list they are recorded in. */
  serve(handler: Handler): SeenRequest[];
  /** `METHOD url` of each request so far. */
  sent(): string[];
  until<T>(check: () => T | null | undefined): Promise<T>;
  q<T extends Element = HTMLElement>(selector: string): T | null;
  /** Types into the field `selector`. */
  type(selector: string, value: string): Promise<void>;
  /** The button whose text or aria-label is `text`. */
  button(text: string): HTMLButtonElement;
  click(text: string): Promise<void>;
  /** Submits the first form. */
  submit(): Promise<void>;
}

/** Registers the per-test setup and teardown; returns the helpers, which always act on the current test's root. */
export function pageHarness(opts: { hash?: string } = {}): Harness {
  let root: HTMLElement;
  let requests: SeenRequest[] = [];
  beforeEach(() => {
    setLang('en');
    document.cookie = 'cb_csrf=test-token';
    if (opts.hash !== undefined) location.hash = opts.hash;
    vi.stubGlobal('WebSocket', FakeSocket);
    FakeSocket.last = undefined;
    requests = [];
    root = document.createElement('div');
    document.body.appendChild(root);
  });
  afterEach(() => {
    render(null, root);
    root.remove();
    vi.unstubAllGlobals();
  });
  const button = (text: string) => {
    const b = [...root.querySelectorAll('button')].find((x) => x.textContent?.trim() === text || x.getAttribute('aria-label') === text);
    if (!b) throw new Error(`no button "${text}" in: ${root.textContent}`);
    return b;
  };
  return {
    get root() {
      return root;
    },
    get requests() {
      return requests;
    },
    show: (vnode) => render(vnode, root),
    serve: (handler) => (requests = serveFetch(handler, (name, value) => vi.stubGlobal(name, vi.fn(value as (...a: any[]) => any)))),
    sent: () => requests.map((r) => `${r.method} ${r.url}`),
    until: (check) => waitFor(check, () => root.textContent ?? ''),
    q: <T extends Element = HTMLElement>(s: string) => root.querySelector<T>(s),
    async type(selector, value) {
      const el = root.querySelector<HTMLInputElement>(selector);
      if (!el) throw new Error(`no field ${selector} in: ${root.textContent}`);
      await act(() => {
        el.value = value;
        el.dispatchEvent(new Event('input', { bubbles: true }));
      });
    },
    button,
    async click(text) {
      await act(() => {
        button(text).click();
      });
      await flush();
    },
    async submit() {
      await act(() => {
        root.querySelector('form')!.dispatchEvent(new Event('submit', { bubbles: true, cancelable: true }));
      });
      await flush();
    },
  };
}
