import { describe, expect, it } from 'vitest';
import { act } from 'preact/test-utils';
import { json, pageHarness } from '../../test/harness';
import { ApiKeys, keyStatus } from './ApiKeys';
import { endOfDay } from './NewKeyDialog';
import type { ApiKey } from '../../shared/api/types';

const h = pageHarness();

const SECRET = 'cbk_12_AbCdEfGh.x7Qv9LmPzT3sKwR2yNcB8dHf';

const key = (id: number, name: string, patch: Partial<ApiKey> = {}): ApiKey => ({
  id, name, prefix: `cbk_${id}_AbCdEfGh`, scopes: ['calls:read'], expires_at: null, allowed_networks: [], rate_per_minute: 600,
  created_by: 'Anna', created_at: '2026-12-01T09:00:00Z', last_used_at: '2026-12-05T10:00:00Z', last_used_ip: '203.0.113.7', revoked_at: null, ...patch,
});

/** The key list behind the stubbed server; `refuse` answers the POST instead of creating. */
function server(opts: { refuse?: () => Response } = {}) {
  let keys: ApiKey[] = [key(1, 'Website form')];
  h.serve((m, u, b) => {
    if (u === '/api/integrations/keys' && m === 'GET') return json(200, keys);
    if (u === '/api/integrations/keys' && m === 'POST') {
      if (opts.refuse) return opts.refuse();
      const k = key(12, b.name, { scopes: b.scopes, allowed_networks: b.allowed_networks, last_used_at: null, last_used_ip: null });
      keys = [k, ...keys];
      return json(201, { key: k, secret: SECRET });
    }
    if (u === '/api/integrations/keys/1' && m === 'DELETE') {
      keys = keys.map((k) => (k.id === 1 ? { ...k, revoked_at: '2026-12-06T08:00:00Z' } : k));
      return new Response(null, { status: 204 });
    }
    return json(404, { code: 'not_found', message: 'no' });
  });
}

const check = async (testid: string) => {
  const box = h.q<HTMLInputElement>(`[data-testid="${testid}"]`)!;
  await act(() => {
    box.click();
  });
};

describe('API keys', () => {
  it('lists keys with their use and status; a new key shows its secret once, and the list never does', async () => {
    server();
    h.show(<ApiKeys isAdministrator={true} />);
    const row = await h.until(() => h.q('[data-testid="key-row"]'));
    for (const text of ['Website form', 'cbk_1_AbCdEfGh', 'calls:read', 'Anna', '203.0.113.7', 'Active']) expect(row.textContent).toContain(text);

    await act(() => h.q<HTMLButtonElement>('[data-testid="key-new"]')!.click());
    await h.type('#key-name', 'CRM sync');
    await check('scope-crm:write');
    await check('scope-users:read');
    await h.type('#key-networks', '203.0.113.0/24\n\n  2001:db8::/32 \n');
    await h.submit();
    const secret = await h.until(() => h.q('[data-testid="secret-value"]'));
    expect(secret.textContent).toBe(SECRET);
    expect(h.q('[data-testid="secret-once"]')!.textContent).toContain('will not be shown again');
    expect(h.requests.find((r) => r.method === 'POST')!.body).toEqual({
      name: 'CRM sync', scopes: ['crm:write', 'users:read'], expires_at: null, allowed_networks: ['203.0.113.0/24', '2001:db8::/32'], rate_per_minute: 600,
    });
    // The list behind the dialog already has the new key, by its prefix only.
    await h.until(() => h.root.querySelectorAll('[data-testid="key-row"]').length === 2);
    for (const r of h.root.querySelectorAll('[data-testid="key-row"]')) expect(r.textContent).not.toContain(SECRET);

    await h.click('Done, I have copied it');
    expect(h.q('[data-testid="secret-once"]')).toBeNull();
    expect(h.root.textContent).not.toContain(SECRET);
    expect(h.root.querySelectorAll('[data-testid="key-row"]')[0]!.textContent).toContain('cbk_12_AbCdEfGh');
    expect(h.root.querySelectorAll('[data-testid="key-row"]')[0]!.textContent).toContain('Not used yet');
  });

  it('lets only an Administrator grant the admin scope', async () => {
    server();
    h.show(<ApiKeys isAdministrator={false} />);
    await h.until(() => h.q('[data-testid="key-row"]'));
    await act(() => h.q<HTMLButtonElement>('[data-testid="key-new"]')!.click());
    expect(h.q<HTMLInputElement>('[data-testid="scope-admin"]')!.disabled).toBe(true);
    expect(h.q<HTMLInputElement>('[data-testid="scope-calls:read"]')!.disabled).toBe(false);
    expect(h.q('[data-testid="scope-admin-hint"]')!.textContent).toBe('Only an Administrator can give a key the admin scope.');

    h.show(<ApiKeys isAdministrator={true} />);
    await h.until(() => h.q('[data-testid="key-row"]'));
    await act(() => h.q<HTMLButtonElement>('[data-testid="key-new"]')!.click());
    expect(h.q<HTMLInputElement>('[data-testid="scope-admin"]')!.disabled).toBe(false);
    expect(h.q('[data-testid="scope-admin-hint"]')).toBeNull();
  });

  it('shows a refusal on the field its code is about', async () => {
    server({ refuse: () => json(422, { code: 'invalid_network', message: '10.0.0.0/33 is not a network' }) });
    h.show(<ApiKeys isAdministrator={true} />);
    await h.until(() => h.q('[data-testid="key-row"]'));
    await act(() => h.q<HTMLButtonElement>('[data-testid="key-new"]')!.click());
    // First the dialog's own checks: a name and a scope.
    await h.submit();
    expect(h.q('#key-name-error')!.textContent).toContain('1 to 80 characters');
    expect(h.q('#key-scopes-error')!.textContent).toContain('at least one scope');
    expect(h.requests.some((r) => r.method === 'POST')).toBe(false);

    await h.type('#key-name', 'Office');
    await check('scope-calls:read');
    await h.type('#key-networks', '10.0.0.0/33');
    await h.submit();
    const err = await h.until(() => h.q('#key-networks-error'));
    expect(err.textContent).toContain('Not a network (10.0.0.0/33 is not a network)');
    expect(h.q('#key-networks')!.getAttribute('aria-invalid')).toBe('true');
    expect(h.q('#key-name-error')).toBeNull();
    expect(h.q('[data-testid="secret-once"]')).toBeNull();
  });

  it('puts admins_only (a 403) on the scopes', async () => {
    server({ refuse: () => json(403, { code: 'admins_only', message: 'only an administrator may grant admin' }) });
    h.show(<ApiKeys isAdministrator={true} />);
    await h.until(() => h.q('[data-testid="key-row"]'));
    await act(() => h.q<HTMLButtonElement>('[data-testid="key-new"]')!.click());
    await h.type('#key-name', 'Ops');
    await check('scope-admin');
    await h.submit();
    const err = await h.until(() => h.q('#key-scopes-error'));
    expect(err.textContent).toContain('Only an Administrator can do this');
  });

  it('revokes a key after asking', async () => {
    server();
    h.show(<ApiKeys isAdministrator={true} />);
    await h.until(() => h.q('[data-testid="key-row"]'));
    await h.click('Revoke: Website form');
    const dialog = h.q('.dialog')!;
    expect(dialog.textContent).toContain('cbk_1_AbCdEfGh');
    expect(h.requests.some((r) => r.method === 'DELETE')).toBe(false);
    await act(() => [...dialog.querySelectorAll('button')].find((b) => b.textContent === 'Revoke')!.click());
    await h.until(() => h.q('[data-testid="key-status"]')?.textContent?.includes('Revoked'));
    expect(h.sent()).toContain('DELETE /api/integrations/keys/1');
    expect(h.q('.dialog')).toBeNull();
    expect([...h.root.querySelectorAll('button')].some((b) => b.getAttribute('aria-label') === 'Revoke: Website form')).toBe(false);
  });

  it('tells active, expired and revoked keys apart', () => {
    const now = Date.parse('2026-12-06T12:00:00Z');
    expect(keyStatus(key(1, 'a'), now)).toBe('active');
    expect(keyStatus(key(1, 'a', { expires_at: '2026-12-06T11:59:59Z' }), now)).toBe('expired');
    expect(keyStatus(key(1, 'a', { expires_at: '2026-12-07T00:00:00Z' }), now)).toBe('active');
    expect(keyStatus(key(1, 'a', { expires_at: '2026-12-01T00:00:00Z', revoked_at: '2026-11-30T00:00:00Z' }), now)).toBe('revoked');
    const end = new Date(endOfDay('2027-03-15'));
    expect([end.getFullYear(), end.getMonth(), end.getDate(), end.getHours(), end.getMinutes()]).toEqual([2027, 2, 15, 23, 59]);
  });
});
