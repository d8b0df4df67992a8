import { describe, expect, it, vi } from 'vitest';
import { ApiClient, ApiError, readCookie } from './client';

interface Call {
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
}

/** A fake `fetch` answering from a list of responses, recording each request. */
function fakeFetch(answers: Array<(call: Call) => Response>) {
  const calls: Call[] = [];
  const fn = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const call: Call = {
      url: String(input),
      method: init?.method ?? 'GET',
      headers: { ...(init?.headers as Record<string, string>) },
      body: init?.body as string | undefined,
    };
    calls.push(call);
    const next = answers.shift();
    if (!next) throw new Error(`unexpected request ${call.method} ${call.url}`);
    return next(call);
  });
  return { fetch: fn as unknown as typeof fetch, calls };
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) => () =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });

const ME = {
  user: { id: 1, login: 'admin', name: 'A', email: 'a@b.ru', disabled: false, role: 'administrator', groups: [], created_at: '' },
  tenant: { id: 1, account: 'demo', name: 'Demo' },
  role: 'administrator',
  csrf: 'session-token',
};

describe('readCookie', () => {
  it('finds a cookie among others and decodes it', () => {
    expect(readCookie('a=1; cb_csrf=abc%3D; b=2', 'cb_csrf')).toBe('abc=');
    expect(readCookie('xcb_csrf=1', 'cb_csrf')).toBeUndefined();
  });
});

describe('ApiClient CSRF', () => {
  it('sends no token on GET', async () => {
    const f = fakeFetch([json(200, [])]);
    await new ApiClient({ fetch: f.fetch, cookies: () => 'cb_csrf=tok' }).listUsers();
    expect(f.calls[0]!.headers['X-CSRF-Token']).toBeUndefined();
    expect(f.calls[0]!.url).toBe('/api/users');
  });

  it('copies the cb_csrf cookie into X-CSRF-Token on unsafe requests', async () => {
    const f = fakeFetch([json(201, { id: 5, name: 'Sales', role: 'user', builtin: false, member_count: 0 }), () => new Response(null, { status: 204 })]);
    const c = new ApiClient({ fetch: f.fetch, cookies: () => 'other=1; cb_csrf=tok-1' });
    const g = await c.createGroup({ name: 'Sales', role: 'user' });
    await c.deleteGroup(5);
    expect(g.name).toBe('Sales');
    expect(f.calls.map((x) => [x.method, x.url, x.headers['X-CSRF-Token']])).toEqual([
      ['POST', '/api/groups', 'tok-1'],
      ['DELETE', '/api/groups/5', 'tok-1'],
    ]);
    expect(JSON.parse(f.calls[0]!.body!)).toEqual({ name: 'Sales', role: 'user' });
    expect(f.calls[0]!.headers['Content-Type']).toBe('application/json');
  });

  it('reads the __Host- prefixed cookie behind HTTPS', async () => {
    const f = fakeFetch([json(200, ME)]);
    await new ApiClient({ fetch: f.fetch, cookies: () => '__Host-cb_csrf=secure-tok' }).login({ account: 'demo', login: 'a', password: 'p' });
    expect(f.calls[0]!.headers['X-CSRF-Token']).toBe('secure-tok');
  });

  it('asks GET /api/auth/csrf first when the cookie is missing', async () => {
    let cookies = '';
    const f = fakeFetch([
      () => {
        cookies = 'cb_csrf=fresh';
        return json(200, { csrf: 'fresh' })();
      },
      json(200, ME),
    ]);
    const me = await new ApiClient({ fetch: f.fetch, cookies: () => cookies }).login({ account: 'demo', login: 'admin', password: 'x' });
    expect(me.tenant.account).toBe('demo');
    expect(f.calls.map((c) => `${c.method} ${c.url}`)).toEqual(['GET /api/auth/csrf', 'POST /api/auth/login']);
    expect(f.calls[1]!.headers['X-CSRF-Token']).toBe('fresh');
  });

  it('uses the token from Me when the cookie cannot be read', async () => {
    const f = fakeFetch([json(200, ME), json(200, { id: 1, name: 'x', role: 'user', builtin: false, member_count: 0 })]);
    const c = new ApiClient({ fetch: f.fetch, cookies: () => '' });
    await c.me();
    await c.updateGroup(1, { name: 'x' });
    expect(f.calls.map((x) => `${x.method} ${x.url} ${x.headers['X-CSRF-Token'] ?? '-'}`)).toEqual([
      'GET /api/auth/me -',
      'PATCH /api/groups/1 session-token',
    ]);
  });

  it('retries once with a fresh token after 403 csrf', async () => {
    let cookies = 'cb_csrf=stale';
    const f = fakeFetch([
      json(403, { code: 'csrf', message: 'missing or wrong CSRF token' }),
      () => {
        cookies = 'cb_csrf=new';
        return json(200, { csrf: 'new' })();
      },
      json(200, ME.user),
    ]);
    const u = await new ApiClient({ fetch: f.fetch, cookies: () => cookies }).updateUser(1, { name: 'B' });
    expect(u.login).toBe('admin');
    expect(f.calls.map((c) => c.headers['X-CSRF-Token'] ?? '-')).toEqual(['stale', '-', 'new']);
  });
});

describe('ApiClient errors', () => {
  const client = (answers: Array<(call: Call) => Response>, onUnauthenticated?: () => void) =>
    new ApiClient({ fetch: fakeFetch(answers).fetch, cookies: () => 'cb_csrf=t', onUnauthenticated });

  async function failure(p: Promise<unknown>): Promise<ApiError> {
    try {
      await p;
    } catch (e) {
      expect(e).toBeInstanceOf(ApiError);
      return e as ApiError;
    }
    throw new Error('expected a failure');
  }

  it('maps a JSON error body to code, message and status', async () => {
    const e = await failure(client([json(409, { code: 'login_taken', message: 'login is taken' })]).createUser({
      login: 'ivan', name: 'I', email: 'i@b.ru', password: 'x', group_ids: [],
    }));
    expect([e.status, e.code, e.message]).toEqual([409, 'login_taken', 'login is taken']);
  });

  it('reads Retry-After on 429', async () => {
    const e = await failure(client([json(429, { code: 'throttled', message: 'wait' }, { 'Retry-After': '42' })]).login({ account: 'a', login: 'b', password: 'c' }));
    expect(e.code).toBe('throttled');
    expect(e.retryAfter).toBe(42);
  });

  it('names a non-JSON answer bad_response', async () => {
    const e = await failure(client([() => new Response('<html>Bad Gateway</html>', { status: 502 })]).listUsers());
    expect([e.status, e.code]).toEqual([502, 'bad_response']);
  });

  it('names an unreachable server network', async () => {
    const e = await failure(client([() => { throw new TypeError('Failed to fetch'); }]).listGroups());
    expect([e.status, e.code]).toEqual([0, 'network']);
  });

  it('reports a lost session', async () => {
    const lost = vi.fn();
    const e = await failure(client([json(401, { code: 'unauthenticated', message: 'sign in first' })], lost).listUsers());
    expect(e.code).toBe('unauthenticated');
    expect(lost).toHaveBeenCalledOnce();
  });

  it('does not treat wrong credentials as a lost session', async () => {
    const lost = vi.fn();
    await failure(client([json(401, { code: 'bad_credentials', message: 'wrong' })], lost).login({ account: 'a', login: 'b', password: 'c' }));
    expect(lost).not.toHaveBeenCalled();
  });

  it('resolves 204 to undefined', async () => {
    await expect(client([() => new Response(null, { status: 204 })]).logout()).resolves.toBeUndefined();
  });
});
