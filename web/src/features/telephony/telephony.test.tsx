import { render } from 'preact';
import { act } from 'preact/test-utils';
import { describe, expect, it, vi } from 'vitest';
import type { DialRules, TelUser } from '../../shared/api/types';
import { DialRulesPage } from './DialRulesPage';
import { PhoneSetupPage } from '../phone/PhoneSetupPage';
import { TelephonyPage } from './TelephonyPage';
import { FakeSocket, json, pageHarness } from '../../test/harness';

const h = pageHarness();
const { serve, until, q } = h;

const boss: TelUser = { user_id: 1, name: 'Boss', login: 'boss', extension: '101', sip_login: 'acme_101', accept_incoming: true, browser_calls: true, international: true, source: 'manual', online: { browser: false, desk: false }, disabled: false, state: 'available' };

describe('Telephony page', () => {
  it('turns telephony on and shows the new SIP password once', async () => {
    let enabled = false;
    serve((m, u) => {
      if (u.endsWith('/api/telephony') && m === 'GET') return json(200, { enabled, account: 'acme', me: enabled ? boss : null });
      if (u.endsWith('/api/telephony/enable')) {
        enabled = true;
        return json(200, { enabled: true, created: { ...boss, sip_password: 'Secret123' } });
      }
      if (u.endsWith('/api/telephony/users')) return json(200, [boss]);
      if (u.endsWith('/api/users')) return json(200, []);
      if (u.endsWith('/api/groups')) return json(200, [{ id: 3, name: 'Agent', role: 'user', builtin: true, member_count: 0 }]);
      if (u.endsWith('/api/telephony/provisioning')) return json(200, { group_ids: [] });
      if (u.endsWith('/api/telephony/routing')) return json(200, { ring_timeout_secs: 15, forward_number: null });
      return json(404, { code: 'not_found', message: 'no' });
    });
    render(<TelephonyPage />, h.root);
    const on = await until(() => q<HTMLButtonElement>('[data-testid=tel-enable]'));
    await act(() => on.click());
    const pw = await until(() => q('[data-testid=tel-secret-password]'));
    expect(pw.textContent).toBe('Secret123');
    await until(() => q('[data-testid=tel-users]')?.textContent?.includes('acme_101'));
    expect(h.root.textContent).toContain('new SIP password');
  });

  it('turns telephony off only after the account name is typed', async () => {
    serve((m, u, b) => {
      if (u.endsWith('/api/telephony') && m === 'GET') return json(200, { enabled: true, account: 'acme', me: boss });
      if (u.endsWith('/api/telephony/disable')) return b.confirm_account === 'acme' ? json(200, { enabled: false }) : json(422, { code: 'confirmation_mismatch', message: 'type' });
      if (u.endsWith('/api/telephony/users')) return json(200, [boss]);
      if (u.endsWith('/api/users')) return json(200, []);
      if (u.endsWith('/api/groups')) return json(200, []);
      if (u.endsWith('/api/telephony/provisioning')) return json(200, { group_ids: [] });
      if (u.endsWith('/api/telephony/routing')) return json(200, { ring_timeout_secs: 15, forward_number: null });
      return json(404, { code: 'not_found', message: 'no' });
    });
    render(<TelephonyPage />, h.root);
    const off = await until(() => q<HTMLButtonElement>('[data-testid=tel-disable]'));
    await act(() => off.click());
    expect(h.root.textContent).toContain('all call records');
    const confirm = [...h.root.querySelectorAll('button')].find((b) => b.textContent === 'Turn off and delete')!;
    expect(confirm.disabled).toBe(true);
    const input = q<HTMLInputElement>('[data-testid=tel-confirm-account]')!;
    await act(() => {
      input.value = 'acme';
      input.dispatchEvent(new Event('input', { bubbles: true }));
    });
    expect(confirm.disabled).toBe(false);
    await act(() => {
      confirm.closest('form')!.dispatchEvent(new Event('submit', { bubbles: true, cancelable: true }));
    });
    await until(() => h.requests.find((r) => r.url.endsWith('/api/telephony/disable')));
    expect(h.requests.find((r) => r.url.endsWith('/disable'))!.body).toEqual({ confirm_account: 'acme' });
  });
});

describe('Call path health card', () => {
  const pt = (at: string, ok: boolean, setup: number | null, error: string | null = null) => ({
    at, ok, setup_ms: setup, ice_ms: ok ? 1 : null, dtls_ms: ok ? 200 : null, rtt_ms: ok ? 0.6 : null, loss_pct: ok ? 0 : null, jitter_ms: ok ? 0.3 : null, error,
  });

  it('charts passes and failures, shows the alert while failing, and saves the probe number', async () => {
    let number: string | null = '9999';
    serve((m, u, b) => {
      if (u.includes('/api/telephony/probe') && m === 'GET') {
        return json(200, {
          probe_number: number,
          points: [pt('2026-11-28T05:00:00Z', true, 48), pt('2026-11-28T05:01:00Z', true, 52), pt('2026-11-28T05:02:00Z', false, null, 'SIP INVITE answered 503'), pt('2026-11-28T05:03:00Z', false, null, 'SIP INVITE answered 503')],
          alert: { since: '2026-11-28T05:02:00Z', failures: 2, error: 'SIP INVITE answered 503' },
        });
      }
      if (u.endsWith('/api/telephony/probe') && m === 'PUT') {
        number = b.probe_number;
        return json(200, { probe_number: number });
      }
      return json(404, { code: 'not_found', message: 'no' });
    });
    const { ProbeCard } = await import('./ProbeCard');
    render(<ProbeCard />, h.root);
    await until(() => q('[data-testid=probe-chart]'));
    expect(h.root.querySelectorAll('[data-testid=probe-ok]').length).toBe(2);
    expect(h.root.querySelectorAll('[data-testid=probe-fail]').length).toBe(2);
    expect(q('[data-testid=probe-chart]')!.getAttribute('aria-label')).toBe('Call setup time of the last 4 probe calls; 2 failed');
    const alert = q('[data-testid=probe-alert]')!;
    expect(alert.textContent).toContain('2 probe calls in a row');
    expect(alert.textContent).toContain('SIP INVITE answered 503');
    expect(q<HTMLInputElement>('[data-testid=probe-number]')!.value).toBe('9999');

    const input = q<HTMLInputElement>('[data-testid=probe-number]')!;
    await act(() => {
      input.value = ' ';
      input.dispatchEvent(new Event('input', { bubbles: true }));
    });
    await act(() => {
      input.closest('form')!.dispatchEvent(new Event('submit', { bubbles: true, cancelable: true }));
    });
    await until(() => h.requests.find((r) => r.method === 'PUT'));
    expect(h.requests.find((r) => r.method === 'PUT')!.body).toEqual({ probe_number: null });
    await until(() => h.root.textContent?.includes('Set a probe number'));
  });
});

const rules: DialRules = {
  country_code: '7', city_prefix: '495', national_prefix: '8', international_prefix: '810', local_length: 7, national_length: 10,
  mobile_prefixes: ['9'], short_rules: [], blocked_country_codes: [],
  allowed: { internal: true, local: true, national: true, mobile: true, international: false },
};

describe('Dial rules page', () => {
  it('shows what example numbers become, with the unsaved rules, and saves', async () => {
    serve((m, u, b) => {
      if (u.endsWith('/api/telephony/dial-rules') && m === 'GET') return json(200, rules);
      if (u.endsWith('/api/telephony/dial-rules') && m === 'PUT') return json(200, b);
      if (u.endsWith('/preview')) {
        if (b.number.startsWith(b.rules.international_prefix) && !b.rules.allowed.international) return json(200, { refused: 'international calls are not allowed', refused_code: 'direction_not_allowed' });
        return json(200, { direction: 'local', e164: '+74951234567', dial: '74951234567' });
      }
      return json(404, { code: 'not_found', message: 'no' });
    });
    render(<DialRulesPage />, h.root);
    await until(() => q('[data-testid=dial-examples]')?.textContent?.includes('international calls are not allowed'));
    expect(q('[data-testid=dial-examples]')!.textContent).toContain('+74951234567');
    const intl = q<HTMLInputElement>('[data-testid=allow-international]')!;
    await act(() => intl.click());
    await until(() => !q('[data-testid=dial-examples]')?.textContent?.includes('not allowed'));
    await act(() => {
      h.root.querySelector('form')!.dispatchEvent(new Event('submit', { bubbles: true, cancelable: true }));
    });
    const put = await until(() => h.requests.find((r) => r.method === 'PUT'));
    expect(put.body.allowed.international).toBe(true);
  });
});

describe('Set up your phone', () => {
  it('shows the account values and a new password once', async () => {
    serve((_m, u) => {
      if (u.endsWith('/api/telephony/me/phone-setup')) return json(200, { sip_login: 'acme_102', domain: 'pbx.example', server: 'pbx.example', port: 5060, transports: ['udp', 'tcp'], extension: '102', browser_calls: false });
      if (u.endsWith('/password')) return json(200, { sip_password: 'NewPass1' });
      return json(404, { code: 'not_found', message: 'no' });
    });
    render(<PhoneSetupPage />, h.root);
    await until(() => q('[data-testid=setup-login]'));
    expect(q('[data-testid=setup-login]')!.textContent).toBe('acme_102');
    expect(h.root.textContent).toContain('pbx.example:5060');
    await act(() => q<HTMLButtonElement>('[data-testid=setup-new-password]')!.click());
    const pw = await until(() => q('[data-testid=setup-password]'));
    expect(pw.textContent).toBe('NewPass1');
    const img = await until(() => q<HTMLImageElement>('[data-testid=setup-qr]'));
    expect(img.src).toMatch(/^data:image\/png;base64,/);
  });
});

describe('Toll fraud', () => {
  it('lets an administrator allow calls abroad per user', async () => {
    const agent: TelUser = { ...boss, user_id: 2, name: 'Agent', login: 'agent', extension: '102', sip_login: 'acme_102', international: false };
    serve((m, u, b) => {
      if (u.endsWith('/api/telephony') && m === 'GET') return json(200, { enabled: true, account: 'acme', me: boss });
      if (u.endsWith('/api/telephony/users')) return json(200, [boss, agent]);
      if (u.endsWith('/api/telephony/users/2') && m === 'PATCH') return json(200, { ...agent, ...b });
      if (u.endsWith('/api/users')) return json(200, []);
      if (u.endsWith('/api/groups')) return json(200, []);
      if (u.endsWith('/api/telephony/provisioning')) return json(200, { group_ids: [] });
      if (u.endsWith('/api/telephony/routing')) return json(200, { ring_timeout_secs: 15, forward_number: null });
      return json(404, { code: 'not_found', message: 'no' });
    });
    render(<TelephonyPage />, h.root);
    const box = await until(() => q<HTMLInputElement>('[data-testid=tel-international-2]'));
    expect(box.checked).toBe(false);
    expect(q<HTMLInputElement>('[data-testid=tel-international-1]')!.checked).toBe(true);
    await act(() => box.click());
    await until(() => h.requests.find((r) => r.method === 'PATCH'));
    const patch = h.requests.find((r) => r.method === 'PATCH')!;
    expect(patch.url).toContain('/api/telephony/users/2');
    expect(patch.body).toEqual({ international: true });
  });

  it('sets a user\'s mobile number, where their calls go when no phone of theirs is online', async () => {
    const agent: TelUser = { ...boss, user_id: 2, name: 'Agent', login: 'agent', extension: '102', sip_login: 'acme_102', international: false, mobile_number: null };
    serve((m, u, b) => {
      if (u.endsWith('/api/telephony') && m === 'GET') return json(200, { enabled: true, account: 'acme', me: boss });
      if (u.endsWith('/api/telephony/users')) return json(200, [boss, agent]);
      if (u.endsWith('/api/telephony/users/2') && m === 'PATCH') return json(200, { ...agent, ...b });
      if (u.endsWith('/api/users')) return json(200, []);
      if (u.endsWith('/api/groups')) return json(200, []);
      if (u.endsWith('/api/telephony/provisioning')) return json(200, { group_ids: [] });
      if (u.endsWith('/api/telephony/routing')) return json(200, { ring_timeout_secs: 15, forward_number: null });
      return json(404, { code: 'not_found', message: 'no' });
    });
    const asked = vi.spyOn(window, 'prompt').mockReturnValue(' +7 916 123-45-67 ');
    render(<TelephonyPage />, h.root);
    const btn = await until(() => q<HTMLButtonElement>('[data-testid=tel-mobile-2]'));
    expect(btn.textContent).toBe('—');
    await act(() => btn.click());
    expect(asked).toHaveBeenCalled();
    await until(() => h.requests.find((r) => r.method === 'PATCH'));
    expect(h.requests.find((r) => r.method === 'PATCH')!.body).toEqual({ mobile_number: '+7 916 123-45-67' });
    asked.mockRestore();
  });

  it('shows security alerts as they arrive and allows a new country with one click', async () => {
    let countries: string[] = [];
    const limits = () => ({ max_calls_tenant: 30, max_calls_user: 2, calls_per_minute_user: 10, minutes_per_day_tenant: 3000, warn_percent: 80, allowed_countries: countries });
    serve((m, u, b) => {
      if (u.includes('/api/security/alerts')) return json(200, []);
      if (u.endsWith('/api/security/settings')) return json(200, limits());
      if (u.endsWith('/api/security/countries') && m === 'POST') {
        countries = [...countries, b.country_code];
        return json(200, limits());
      }
      return json(404, { code: 'not_found', message: 'no' });
    });
    const { SecurityCard } = await import('../security/SecurityCard');
    render(<SecurityCard />, h.root);
    await until(() => h.root.textContent?.includes('No security alerts'));
    const alert = { id: 7, at: '2026-12-03T08:00:00Z', kind: 'country_not_allowed', level: 'blocked', message: 'Agent (extension 102) called country code +44 for the first time', user_id: 2, country_code: '44' };
    await act(() => FakeSocket.last!.onmessage?.({ data: JSON.stringify({ type: 'security_alert', alert }) }));
    const allow = await until(() => q<HTMLButtonElement>('[data-testid=allow-country-44]'));
    expect(h.root.textContent).toContain('called country code +44');
    await act(() => allow.click());
    await until(() => h.requests.find((r) => r.method === 'POST'));
    expect(h.requests.find((r) => r.method === 'POST')!.body).toEqual({ country_code: '44' });
    await until(() => !q('[data-testid=allow-country-44]'));
    expect(h.root.textContent).toContain('+44');
  });
});
