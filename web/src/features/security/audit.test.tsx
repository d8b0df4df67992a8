import { render } from 'preact';
import { describe, expect, it, vi } from 'vitest';
import { AuditPage, describe as describeValue } from './AuditPage';
import { json, pageHarness, waitFor } from '../../test/harness';

const h = pageHarness();

describe('security log', () => {
  it('shows who changed what, from where, before and after', async () => {
    const urls: string[] = [];
    vi.stubGlobal('fetch', vi.fn(async (input: RequestInfo | URL) => {
      urls.push(String(input));
      if (String(input).includes('/two-factor')) {
        return json(200, { enabled: true, pending: false, tenant_requires: false, required: false, recovery_codes_left: 9 });
      }
      return json(200, [
        { id: 7, at: '2026-12-03T08:00:00Z', actor_id: 1, actor_login: 'admin', ip: '203.0.113.9', action: 'trunk.update', target: 't1-trk1',
          before: { username: 'old', host: 'sip.example.com' }, after: { username: 'new', host: 'sip.example.com', password_changed: true } },
      ]);
    }));
    render(<AuditPage />, h.root);
    const text = await waitFor(() => (h.root.textContent?.includes('trunk.update') ? h.root.textContent : null), () => h.root.textContent ?? '');
    expect(urls).toContain('/api/security/audit?limit=50');
    expect(text).toContain('Recovery codes left: 9');
    expect(text).toContain('admin');
    expect(text).toContain('203.0.113.9');
    expect(text).toContain('username: old');
    expect(text).toContain('username: new');
    expect(text).toContain('password_changed: true');
    expect(h.root.textContent).not.toContain('Older entries');
  });

  it('a sub-administrator sees the two-factor card but not the log', async () => {
    const urls: string[] = [];
    vi.stubGlobal('fetch', vi.fn(async (input: RequestInfo | URL) => {
      urls.push(String(input));
      return json(200, { enabled: false, pending: false, tenant_requires: true, required: true, recovery_codes_left: 0 });
    }));
    render(<AuditPage isAdministrator={false} />, h.root);
    const text = await waitFor(() => (h.root.textContent?.includes('requires it') ? h.root.textContent : null), () => h.root.textContent ?? '');
    expect(text).toContain('Set up');
    expect(urls.some((u) => u.includes('/api/security/audit'))).toBe(false);
  });

  it('describes values compactly', () => {
    expect(describeValue(null)).toBe('—');
    expect(describeValue({ role: 'agent', groups: ['A', 'B'], label: '' })).toBe('role: agent; groups: [A, B]');
    expect(describeValue(['t1-trk2', 't1-trk1'])).toBe('t1-trk2, t1-trk1');
  });
});
