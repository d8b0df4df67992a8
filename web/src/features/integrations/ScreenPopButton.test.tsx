import { render } from 'preact';
import { act } from 'preact/test-utils';
import { describe, expect, it, vi } from 'vitest';
import { FakeSocket, json, pageHarness } from '../../test/harness';
import { CallCard } from '../calls/card/CallCard';
import type { ScreenPopOpenOn } from '../../shared/api/types';

const h = pageHarness();

describe('the call card\'s Open in CRM', () => {
  const URL = 'https://crm.example.com/card?n=%2B79161234567&id=c1';

  /** The call card with the given screen-pop, and `window.open` stubbed to answer `opened` (null: blocked). */
  async function card(openOn: ScreenPopOpenOn, opened: Window | null, url: string | null = URL) {
    h.serve((_m, u) => {
      if (u === '/api/calls/c1/screen-pop') return json(200, { url, open_on: openOn });
      if (u === '/api/calls/c1/card') return json(200, { number: '+79161234567', linked_record_id: null, similar: false, matches: [] });
      if (u === '/api/crm/tables') return json(200, []);
      return json(404, { code: 'not_found', message: 'no' });
    });
    const open = vi.fn(() => opened);
    vi.stubGlobal('open', open);
    await act(async () => render(<CallCard userId={3} />, h.root));
    return open;
  }
  const push = (state: string, extra: object = {}) =>
    act(async () => FakeSocket.last!.push({ type: 'call', call_id: 'c1', state, direction: 'inbound', number: '+79161234567', user_ids: [3], ...extra }));

  it('shows the button with the URL and opens it by itself when the call rings (open_on=ringing), once', async () => {
    const win = { opener: window } as unknown as Window;
    const open = await card('ringing', win);
    await push('ringing');
    await h.until(() => h.q('[data-testid="screen-pop-open"]'));
    await h.until(() => open.mock.calls.length > 0);
    expect(open.mock.calls[0]).toEqual([URL, 'callbase-crm']);
    expect(win.opener).toBeNull();
    expect(h.q('[data-testid="screen-pop-blocked"]')).toBeNull();
    expect(h.requests.filter((r) => r.url === '/api/calls/c1/screen-pop')).toHaveLength(1);

    // Answering does not open it again; the button does.
    await push('answered', { user_id: 3 });
    expect(open).toHaveBeenCalledTimes(1);
    await act(() => h.q<HTMLButtonElement>('[data-testid="screen-pop-open"]')!.click());
    expect(open).toHaveBeenCalledTimes(2);
    expect(open.mock.calls[1]).toEqual([URL, 'callbase-crm']);
    expect(h.requests.filter((r) => r.url === '/api/calls/c1/screen-pop')).toHaveLength(1);
  });

  it('says the pop-up was blocked and keeps the button', async () => {
    const open = await card('ringing', null);
    await push('ringing');
    const notice = await h.until(() => h.q('[data-testid="screen-pop-blocked"]'));
    expect(open).toHaveBeenCalledTimes(1);
    expect(notice.textContent).toBe('Pop-ups are blocked: allow pop-ups for this site, or use Open in CRM.');
    expect(h.q('[data-testid="screen-pop-open"]')!.textContent).toBe('Open in CRM');
  });

  it('with open_on=answer waits for the answer; with never it only offers the button', async () => {
    let open = await card('answer', { opener: null } as unknown as Window);
    await push('ringing');
    await h.until(() => h.q('[data-testid="screen-pop-open"]'));
    expect(open).not.toHaveBeenCalled();
    await push('answered', { user_id: 3 });
    await h.until(() => open.mock.calls.length === 1);

    render(null, h.root);
    open = await card('never', { opener: null } as unknown as Window);
    await push('ringing');
    await h.until(() => h.q('[data-testid="screen-pop-open"]'));
    await push('answered', { user_id: 3 });
    expect(open).not.toHaveBeenCalled();
  });

  it('shows no button when the tenant has no screen-pop URL', async () => {
    const open = await card('ringing', null, null);
    await push('ringing');
    await h.until(() => h.requests.some((r) => r.url === '/api/calls/c1/screen-pop'));
    await h.until(() => h.q('[data-testid="card-number"]')?.textContent === '+79161234567');
    expect(h.q('[data-testid="screen-pop-open"]')).toBeNull();
    expect(open).not.toHaveBeenCalled();
  });
});
