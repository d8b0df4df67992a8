import { describe, expect, it } from 'vitest';
import { act } from 'preact/test-utils';
import { BlocklistForm } from './BlocklistForm';
import { json, pageHarness } from '../../test/harness';
import type { BlockedNumber } from '../../shared/api/types';

const h = pageHarness();

describe('the blocklist', () => {
  it('blocks a number, shows what the server says of bad input, counts refused calls and unblocks', async () => {
    let list: BlockedNumber[] = [{ id: 1, number: '+79161234567', note: 'spam', created_at: '2026-12-05T10:00:00Z', blocked_calls: 3, last_blocked_at: '2026-12-05T11:00:00Z', action: 'reject' }];
    h.serve((m, u, b) => {
      if (u === '/api/telephony/blocklist' && m === 'GET') return json(200, list);
      if (u === '/api/telephony/blocklist' && m === 'POST') {
        if (b.number === 'call me') return json(422, { code: 'invalid_number', message: 'call me is not a phone number the dial rules can read' });
        const row = { id: 2, number: '+74951112233', note: b.note, created_at: '2026-12-05T12:00:00Z', blocked_calls: 0, last_blocked_at: null, action: b.action };
        list = [row, ...list];
        return json(201, row);
      }
      if (u === '/api/telephony/blocklist/1' && m === 'DELETE') {
        list = list.filter((x) => x.id !== 1);
        return new Response(null, { status: 204 });
      }
      return json(404, {});
    });
    h.show(<BlocklistForm />);
    const row = await h.until(() => h.q('[data-testid=bl-row]'));
    expect(row.textContent).toContain('+79161234567');
    expect(row.textContent).toContain('spam');
    expect(row.textContent).toContain('3');
    const type = async (sel: string, v: string) => {
      const i = h.q<HTMLInputElement>(sel)!;
      i.value = v;
      await act(() => { i.dispatchEvent(new Event('input', { bubbles: true })); });
    };
    await type('[data-testid=bl-number]', 'call me');
    await act(() => h.q<HTMLButtonElement>('[data-testid=bl-add]')!.click());
    await h.until(() => h.root.textContent?.includes('not a phone number'));
    expect(h.root.querySelectorAll('[data-testid=bl-row]')).toHaveLength(1);
    await type('[data-testid=bl-number]', '8 495 111-22-33');
    await type('[data-testid=bl-note]', 'robocalls');
    const action = h.q<HTMLSelectElement>('[data-testid=bl-action]')!;
    action.value = 'message';
    await act(() => { action.dispatchEvent(new Event('change', { bubbles: true })); });
    await act(() => h.q<HTMLButtonElement>('[data-testid=bl-add]')!.click());
    await h.until(() => h.root.querySelectorAll('[data-testid=bl-row]').length === 2);
    const sent = h.requests.find((r) => r.method === 'POST' && r.body.note === 'robocalls')!.body;
    expect([sent.number, sent.action]).toEqual(['8 495 111-22-33', 'message']);
    expect(h.q('[data-testid=bl-row-action]')!.textContent).toContain('not in service');
    const unblock = [...h.root.querySelectorAll('button')].find((b) => b.getAttribute('aria-label') === 'Unblock: +79161234567')!;
    await act(() => unblock.click());
    await h.until(() => h.root.querySelectorAll('[data-testid=bl-row]').length === 1);
  });
});
