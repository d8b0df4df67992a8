import { render } from 'preact';
import { act } from 'preact/test-utils';
import { describe, expect, it } from 'vitest';
import { UsersPage } from './UsersPage';
import { ADMIN, GROUPS, IVAN, ME } from '../../test/fixtures';
import { flush, json, type Handler, pageHarness } from '../../test/harness';

const h = pageHarness();
const { serve, until, type, click, submit, button } = h;

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
    render(<UsersPage me={ME} />, h.root);
    await until(() => h.root.querySelector('tbody tr'));
    const rows = [...h.root.querySelectorAll('tbody tr')].map((r) => r.textContent);
    expect(rows[0]).toContain('admin');
    expect(rows[0]).toContain('Administrators');
    expect(rows[0]).toContain('Active');
    expect(rows[1]).toContain('Disabled');
    expect(h.root.textContent).toContain('2 users');
  });

  it('does not offer a sub-administrator to edit an administrator', async () => {
    server(() => json(404, {}));
    render(<UsersPage me={{ ...ME, role: 'sub_administrator' }} />, h.root);
    await until(() => h.root.querySelector('tbody tr'));
    expect(() => button('Edit: admin')).toThrow();
    expect(h.root.querySelector('tbody tr')!.textContent).toContain('Only an administrator can change an administrator.');
    expect(button('Edit: ivan')).toBeTruthy();
  });

  it('asks before disabling and explains last_admin', async () => {
    let patched: unknown;
    server((method, url, body) => {
      patched = { method, url, body };
      return json(409, { code: 'last_admin', message: 'no admin left' });
    });
    render(<UsersPage me={ME} />, h.root);
    await until(() => h.root.querySelector('tbody tr'));
    await click('Edit: admin');
    await click('Disable user');
    expect(h.root.textContent).toContain('Disable Anna?');
    expect(patched).toBeUndefined();
    const confirm = h.root.querySelector<HTMLButtonElement>('[role=dialog] .btn--danger')!;
    await act(() => confirm.click());
    await flush();
    expect(patched).toEqual({ method: 'PATCH', url: '/api/users/1', body: { disabled: true } });
    expect(h.root.querySelector('[role=dialog] [role=alert]')!.textContent).toContain('without an active administrator');
  });

  it('creates a user with the chosen groups and shows login_taken in words', async () => {
    const bodies: unknown[] = [];
    server((_method, _url, body) => {
      bodies.push(body);
      return json(409, { code: 'login_taken', message: 'taken' });
    });
    render(<UsersPage me={ME} />, h.root);
    await until(() => h.root.querySelector('tbody tr'));
    await click('+ Create user');
    await type('#cu-login', 'ivan');
    await type('#cu-name', 'Ivan Two');
    await type('#cu-email', 'ivan2@x.ru');
    await type('#cu-password', 'a demo password');
    await submit();
    expect(h.root.textContent).toContain('must not contain the login or the account name');
    expect(bodies).toEqual([]);
    await type('#cu-password', 'long enough pw');
    const sales = [...h.root.querySelectorAll<HTMLLabelElement>('.checkbox')].find((l) => l.textContent?.includes('Sales'))!;
    await act(() => sales.querySelector('input')!.click());
    await submit();
    expect(bodies).toEqual([{ login: 'ivan', name: 'Ivan Two', email: 'ivan2@x.ru', password: 'long enough pw', group_ids: [4] }]);
    expect(h.root.textContent).toContain('This login is already used in your account');
  });
});
