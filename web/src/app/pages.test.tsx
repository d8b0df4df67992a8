import { render } from 'preact';
import { act } from 'preact/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Group, Me, Trunk, User } from '../shared/api/types';
import { setLang } from '../shared/i18n';
import { GroupsPage } from '../features/groups/GroupsPage';
import { TrunksPage } from '../features/trunks/TrunksPage';
import { LoginPage } from '../features/auth/LoginPage';
import { UsersPage } from '../features/users/UsersPage';
import { flush, json, waitFor } from '../test/harness';

type Handler = (method: string, url: string, body: unknown) => Response | Promise<Response>;


let root: HTMLElement;
let requests: string[];

function serve(handler: Handler) {
  requests = [];
  vi.stubGlobal('fetch', vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const method = init?.method ?? 'GET';
    requests.push(`${method} ${String(input)}`);
    return handler(method, String(input), init?.body ? JSON.parse(String(init.body)) : undefined);
  }));
}


/** Waits (up to 2 s) until `check` finds something: robust against slow machines. */
function until<T>(check: () => T | null | undefined): Promise<T> {
  return waitFor(check, () => root.textContent ?? '');
}

async function type(selector: string, value: string) {
  const el = root.querySelector<HTMLInputElement>(selector);
  if (!el) throw new Error(`no field ${selector} in: ${root.textContent}`);
  await act(() => {
    el.value = value;
    el.dispatchEvent(new Event('input', { bubbles: true }));
  });
}

function button(text: string): HTMLButtonElement {
  const b = [...root.querySelectorAll('button')].find((x) => x.textContent?.trim() === text || x.getAttribute('aria-label') === text);
  if (!b) throw new Error(`no button "${text}" in: ${root.textContent}`);
  return b;
}

async function click(text: string) {
  await act(() => { button(text).click(); });
  await flush();
}

async function submit() {
  await act(() => { root.querySelector('form')!.dispatchEvent(new Event('submit', { bubbles: true, cancelable: true })); });
  await flush();
}

beforeEach(() => {
  setLang('en');
  document.cookie = 'cb_csrf=test-token';
  root = document.createElement('div');
  document.body.appendChild(root);
});
afterEach(() => {
  render(null, root);
  root.remove();
  vi.unstubAllGlobals();
});

const ADMIN: User = { id: 1, login: 'admin', name: 'Anna', email: 'a@x.ru', disabled: false, role: 'administrator', groups: [{ id: 1, name: 'Administrators' }], created_at: '' };
const IVAN: User = { id: 2, login: 'ivan', name: 'Ivan', email: 'i@x.ru', disabled: true, role: 'user', groups: [], created_at: '' };
const GROUPS: Group[] = [
  { id: 1, name: 'Administrators', role: 'administrator', builtin: true, member_count: 1 },
  { id: 4, name: 'Sales', role: 'user', builtin: false, member_count: 2 },
];
const ME: Me = { user: ADMIN, tenant: { id: 1, account: 'demo', name: 'Demo' }, role: 'administrator', csrf: 'test-token' };

describe('LoginPage', () => {
  it('checks the fields before calling the server', async () => {
    serve(() => json(500, {}));
    render(<LoginPage onLoggedIn={() => undefined} />, root);
    await type('#login-account', '');
    await submit();
    expect(requests).toEqual([]);
    expect(root.querySelector('#login-account')!.getAttribute('aria-invalid')).toBe('true');
    expect(root.textContent).toContain('Fill in this field.');
  });

  it('disables the form while signing in and shows the server’s refusal in words', async () => {
    let answer!: (r: Response) => void;
    serve(() => new Promise<Response>((r) => (answer = r)));
    render(<LoginPage onLoggedIn={() => undefined} />, root);
    await type('#login-account', 'demo');
    await type('#login-login', 'admin');
    await type('#login-password', 'wrong password');
    await submit();
    expect(root.querySelector('fieldset')!.disabled).toBe(true);
    expect(button('Signing in…')).toBeTruthy();
    await act(async () => answer(json(401, { code: 'bad_credentials', message: 'the account, login or password is wrong' })));
    await flush();
    expect(root.querySelector('fieldset')!.disabled).toBe(false);
    expect(root.querySelector('[role=alert]')!.textContent).toContain('The account, login or password is wrong');
    expect(requests).toEqual(['POST /api/auth/login']);
    // A message already on screen follows a language switch (the app re-renders on a switch).
    await act(() => {
      setLang('ru');
      render(<LoginPage onLoggedIn={() => undefined} />, root);
    });
    await flush();
    expect(root.querySelector('[role=alert]')!.textContent).toContain('Неверное имя аккаунта, логин или пароль');
  });

  it('shows how long to wait after too many attempts, in Russian too', async () => {
    serve(() => json(429, { code: 'throttled', message: 'try again in 3 s' }, { 'Retry-After': '3' }));
    setLang('ru');
    render(<LoginPage onLoggedIn={() => undefined} />, root);
    await type('#login-account', 'demo');
    await type('#login-login', 'admin');
    await type('#login-password', 'whatever-1');
    await submit();
    expect(root.textContent).toContain('Повторите через 3 секунды.');
    expect(button('Войти').disabled).toBe(true);
  });

  it('asks for the authenticator code after a right password, and sends it with the password', async () => {
    const bodies: unknown[] = [];
    serve((_m, _u, body) => {
      bodies.push(body);
      const b = body as { code?: string };
      if (!b.code) return json(401, { code: 'two_factor_required', message: 'enter the code' });
      if (b.code === '111111') return json(401, { code: 'two_factor_invalid', message: 'wrong' });
      return json(200, ME);
    });
    const done = vi.fn();
    render(<LoginPage onLoggedIn={done} />, root);
    await type('#login-account', 'demo');
    await type('#login-login', 'admin');
    await type('#login-password', 'correct horse');
    await submit();
    expect(root.querySelector('#login-code')).toBeTruthy();
    expect(root.querySelector('[role=alert]')).toBeNull();
    await type('#login-code', '111111');
    await submit();
    expect(root.querySelector('[role=alert]')!.textContent).toContain('That code is wrong or was already used');
    await type('#login-code', '654321');
    await submit();
    expect(done).toHaveBeenCalledWith(ME);
    expect(bodies[2]).toEqual({ account: 'demo', login: 'admin', password: 'correct horse', code: '654321' });
  });

  it('hands the signed-in user over', async () => {
    serve(() => json(200, ME));
    const done = vi.fn();
    render(<LoginPage onLoggedIn={done} />, root);
    await type('#login-account', 'Demo');
    await type('#login-login', 'admin');
    await type('#login-password', 'correct horse');
    await submit();
    expect(done).toHaveBeenCalledWith(ME);
  });
});

describe('UsersPage', () => {
  function server(patch: Handler) {
    serve((method, url, body) => {
      if (url === '/api/users' && method === 'GET') return json(200, [ADMIN, IVAN]);
      if (url === '/api/groups') return json(200, GROUPS);
      return patch(method, url, body);
    });
  }

  it('lists users with their groups, role and status as text', async () => {
    server(() => json(404, {}));
    render(<UsersPage me={ME} />, root);
    await until(() => root.querySelector('tbody tr'));
    const rows = [...root.querySelectorAll('tbody tr')].map((r) => r.textContent);
    expect(rows[0]).toContain('admin');
    expect(rows[0]).toContain('Administrators');
    expect(rows[0]).toContain('Active');
    expect(rows[1]).toContain('Disabled');
    expect(root.textContent).toContain('2 users');
  });

  it('does not offer a sub-administrator to edit an administrator', async () => {
    server(() => json(404, {}));
    render(<UsersPage me={{ ...ME, role: 'sub_administrator' }} />, root);
    await until(() => root.querySelector('tbody tr'));
    expect(() => button('Edit: admin')).toThrow();
    expect(root.querySelector('tbody tr')!.textContent).toContain('Only an administrator can change an administrator.');
    expect(button('Edit: ivan')).toBeTruthy();
  });

  it('asks before disabling and explains last_admin', async () => {
    let patched: unknown;
    server((method, url, body) => {
      patched = { method, url, body };
      return json(409, { code: 'last_admin', message: 'no admin left' });
    });
    render(<UsersPage me={ME} />, root);
    await until(() => root.querySelector('tbody tr'));
    await click('Edit: admin');
    await click('Disable user');
    expect(root.textContent).toContain('Disable Anna?');
    expect(patched).toBeUndefined();
    const confirm = root.querySelector<HTMLButtonElement>('[role=dialog] .btn--danger')!;
    await act(() => confirm.click());
    await flush();
    expect(patched).toEqual({ method: 'PATCH', url: '/api/users/1', body: { disabled: true } });
    expect(root.querySelector('[role=dialog] [role=alert]')!.textContent).toContain('without an active administrator');
  });

  it('creates a user with the chosen groups and shows login_taken in words', async () => {
    const bodies: unknown[] = [];
    server((_method, _url, body) => {
      bodies.push(body);
      return json(409, { code: 'login_taken', message: 'taken' });
    });
    render(<UsersPage me={ME} />, root);
    await until(() => root.querySelector('tbody tr'));
    await click('+ Create user');
    await type('#cu-login', 'ivan');
    await type('#cu-name', 'Ivan Two');
    await type('#cu-email', 'ivan2@x.ru');
    await type('#cu-password', 'a demo password');
    await submit();
    expect(root.textContent).toContain('must not contain the login or the account name');
    expect(bodies).toEqual([]);
    await type('#cu-password', 'long enough pw');
    const sales = [...root.querySelectorAll<HTMLLabelElement>('.checkbox')].find((l) => l.textContent?.includes('Sales'))!;
    await act(() => sales.querySelector('input')!.click());
    await submit();
    expect(bodies).toEqual([{ login: 'ivan', name: 'Ivan Two', email: 'ivan2@x.ru', password: 'long enough pw', group_ids: [4] }]);
    expect(root.textContent).toContain('This login is already used in your account');
  });
});

describe('GroupsPage', () => {
  it('locks built-in groups and confirms deletion of the others', async () => {
    serve((method, url) => {
      if (url === '/api/groups') return json(200, GROUPS);
      if (method === 'DELETE' && url === '/api/groups/4') return new Response(null, { status: 204 });
      return json(404, { code: 'not_found', message: 'not found' });
    });
    render(<GroupsPage myRole="administrator" />, root);
    await until(() => root.querySelector('tbody tr'));
    expect(() => button('Delete: Administrators')).toThrow();
    expect(root.textContent).toContain('2 members');
    await click('Delete: Sales');
    expect(root.textContent).toContain('Its 2 members lose the role');
    expect(requests).not.toContain('DELETE /api/groups/4');
    await act(() => root.querySelector<HTMLButtonElement>('[role=dialog] .btn--danger')!.click());
    await flush();
    expect(requests).toContain('DELETE /api/groups/4');
    expect(root.querySelectorAll('tbody tr').length).toBe(1);
    expect(root.textContent).toContain('Group Sales deleted.');
  });
});

const TRUNK: Trunk = {
  id: 7, position: 1, mode: 'simple', label: 'Main carrier', number: null, username: 'u1', domain: 'sip.x.ru', host: 'sip.x.ru',
  rewrite: null, preset: null, password_set: true, registration: 't1-trk1', status: { state: 'waiting', reason: null, since: null },
};

/** A stand-in for the `/events` socket the page opens; tests push messages through it. */
class FakeEvents {
  static last: FakeEvents | undefined;
  onopen?: () => void;
  onmessage?: (e: { data: string }) => void;
  onclose?: () => void;
  constructor(readonly url: string) {
    FakeEvents.last = this;
  }
  close() {}
}

describe('TrunksPage', () => {
  beforeEach(() => vi.stubGlobal('WebSocket', FakeEvents));

  it('shows each trunk with its status in words and follows live status events', async () => {
    serve((m, url) => (m === 'GET' && url === '/api/trunks' ? json(200, [TRUNK]) : json(404, { code: 'not_found', message: '' })));
    render(<TrunksPage />, root);
    await until(() => root.textContent?.includes('Waiting for the carrier'));
    expect(root.textContent).toContain('Outbound calls use this trunk');
    expect(FakeEvents.last?.url).toMatch(/\/events$/);
    await act(() => {
      FakeEvents.last!.onmessage?.({ data: JSON.stringify({ type: 'trunk_status', registration: 't1-trk1', state: 'rejected', reason: 'rejected by carrier (check user and password)', since: 1 }) });
    });
    await until(() => root.textContent?.includes('Not registered: refused'));
    expect(root.textContent).toContain('check the user and password');
    expect(root.querySelector('.trunk-card--bad')).not.toBeNull();
  });

  it('says in words why a new trunk was not saved', async () => {
    serve((m, url) => {
      if (m === 'GET' && url === '/api/trunks') return json(200, []);
      if (m === 'GET' && url === '/api/trunks/presets') return json(200, []);
      if (m === 'POST' && url === '/api/trunks')
        return json(503, { code: 'asterisk_unavailable', message: 'the telephony engine did not accept the change' });
      return json(404, { code: 'not_found', message: '' });
    });
    render(<TrunksPage />, root);
    await until(() => root.textContent?.includes('No trunks yet'));
    await click('+ Add trunk');
    await type('#trunk-user', 'u1');
    await type('#trunk-password', 'secret');
    await type('#trunk-domain', 'sip.x.ru');
    await submit();
    await until(() => root.textContent?.includes('nothing was saved'));
    expect(requests).toContain('POST /api/trunks');
  });
});
