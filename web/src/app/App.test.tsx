import { render } from 'preact';
import { act } from 'preact/test-utils';
import { describe, expect, it, vi } from 'vitest';
import { App } from './App';
import { getTimeZone } from '../shared/i18n/format';
import type { Me } from '../shared/api/types';
import { json, pageHarness } from '../test/harness';

const USER: Me = {
  user: { id: 2, login: 'ivan', name: 'Ivan Petrov', email: 'i@x.ru', disabled: false, role: 'user', groups: [{ id: 3, name: 'Sales' }], created_at: '' },
  tenant: { id: 1, account: 'demo', name: 'Demo LLC', time_zone: 'Europe/Moscow' },
  role: 'user',
  supervisor: false,
  csrf: 't',
};

const h = pageHarness({ hash: '' });

async function settle(check: () => boolean) {
  for (let i = 0; i < 100 && !check(); i++) {
    await act(async () => {
      await new Promise((r) => setTimeout(r, 5));
    });
  }
}

describe('App', () => {
  it('shows the sign-in page to someone signed out', async () => {
    location.hash = '#/users';
    vi.stubGlobal('fetch', vi.fn(async () => json(401, { code: 'unauthenticated', message: 'sign in first' })));
    render(<App />, h.root);
    await settle(() => !!h.root.querySelector('#login-account'));
    expect(location.hash).toBe('#/login');
    expect(document.title).toBe('Sign in to callbase · callbase');
  });

  it('gives a non-admin the home page, CRM and calls, without Settings', async () => {
    location.hash = '#/users';
    vi.stubGlobal('fetch', vi.fn(async () => json(200, USER)));
    render(<App />, h.root);
    await settle(() => h.root.textContent?.includes('Welcome, Ivan Petrov') ?? false);
    expect(location.hash).toBe('#/');
    expect(h.root.textContent).toContain('Sales');
    expect(h.root.textContent).toContain('Demo LLC');
    expect(h.root.querySelector('nav')!.textContent).not.toContain('Users');
    expect(h.root.querySelector('nav')!.textContent).not.toContain('Integrations');
    expect(h.root.querySelector('nav')!.textContent).toContain('CRM');
    // Dates and times follow the account's time zone from the session answer.
    expect(getTimeZone()).toBe('Europe/Moscow');
  });

  it("names the reports My statistics for an agent, Reports for a supervisor", async () => {
    location.hash = '#/';
    vi.stubGlobal('fetch', vi.fn(async () => json(200, USER)));
    render(<App />, h.root);
    await settle(() => h.root.textContent?.includes('Welcome, Ivan Petrov') ?? false);
    const link = [...h.root.querySelectorAll('nav a')].find((a) => a.getAttribute('href') === '#/reports');
    expect(link?.textContent).toBe('My statistics');
    render(null, h.root);
    vi.stubGlobal('fetch', vi.fn(async () => json(200, { ...USER, supervisor: true })));
    render(<App />, h.root);
    await settle(() => h.root.textContent?.includes('Welcome, Ivan Petrov') ?? false);
    expect([...h.root.querySelectorAll('nav a')].find((a) => a.getAttribute('href') === '#/reports')?.textContent).toBe('Reports');
  });
});
