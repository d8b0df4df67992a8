import { render } from 'preact';
import { act } from 'preact/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { App } from './App';
import type { Me } from '../shared/api/types';
import { setLang } from '../shared/i18n';

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

const USER: Me = {
  user: { id: 2, login: 'ivan', name: 'Ivan Petrov', email: 'i@x.ru', disabled: false, role: 'user', groups: [{ id: 3, name: 'Sales' }], created_at: '' },
  tenant: { id: 1, account: 'demo', name: 'Demo LLC' },
  role: 'user',
  csrf: 't',
};

let root: HTMLElement;

async function settle(check: () => boolean) {
  for (let i = 0; i < 100 && !check(); i++) {
    await act(async () => {
      await new Promise((r) => setTimeout(r, 5));
    });
  }
}

beforeEach(() => {
  setLang('en');
  root = document.createElement('div');
  document.body.appendChild(root);
});
afterEach(() => {
  render(null, root);
  root.remove();
  vi.unstubAllGlobals();
  location.hash = '';
});

describe('App', () => {
  it('shows the sign-in page to someone signed out', async () => {
    location.hash = '#/users';
    vi.stubGlobal('fetch', vi.fn(async () => json(401, { code: 'unauthenticated', message: 'sign in first' })));
    render(<App />, root);
    await settle(() => !!root.querySelector('#login-account'));
    expect(location.hash).toBe('#/login');
    expect(document.title).toBe('Sign in to callbase · callbase');
  });

  it('gives a non-admin the home page, CRM and calls, without Settings', async () => {
    location.hash = '#/users';
    vi.stubGlobal('fetch', vi.fn(async () => json(200, USER)));
    render(<App />, root);
    await settle(() => root.textContent?.includes('Welcome, Ivan Petrov') ?? false);
    expect(location.hash).toBe('#/');
    expect(root.textContent).toContain('Sales');
    expect(root.textContent).toContain('Demo LLC');
    expect(root.querySelector('nav')!.textContent).not.toContain('Users');
    expect(root.querySelector('nav')!.textContent).toContain('CRM');
  });
});
