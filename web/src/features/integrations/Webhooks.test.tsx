import { describe, expect, it } from 'vitest';
import { act } from 'preact/test-utils';
import { json, pageHarness } from '../../test/harness';
import { Webhooks } from './Webhooks';
import type { Delivery, Webhook } from '../../shared/api/types';

const h = pageHarness();

const URL3 = 'https://crm.example.com/hooks/callbase';
const URL4 = 'https://old.example.com/in';

const hook = (id: number, url: string, patch: Partial<Webhook> = {}): Webhook => ({
  id, url, events: ['call.ringing', 'call.ended'], mask_numbers: false, enabled: true, disabled_reason: null, failing_since: null,
  created_at: '2026-12-01T09:00:00Z', ...patch,
});

const delivery = (id: string, patch: Partial<Delivery> = {}): Delivery => ({
  message_id: id, event_type: 'call.ended', created_at: '2026-12-05T10:00:00Z', state: 'delivered', attempts: 1, next_try_at: null,
  last_status: 200, last_error: null, attempts_log: [{ at: '2026-12-05T10:00:01Z', status: 200, error: null, duration_ms: 85 }], ...patch,
});

function server() {
  let hooks: Webhook[] = [
    hook(3, URL3),
    hook(4, URL4, { enabled: false, disabled_reason: 'failing since 2026-12-04 09:00: 503', failing_since: '2026-12-04T09:00:00Z', mask_numbers: true }),
  ];
  h.serve((m, u, b) => {
    if (u === '/api/integrations/webhooks' && m === 'GET') return json(200, hooks);
    if (u === '/api/integrations/webhooks' && m === 'POST') {
      if (b.url.startsWith('https://10.')) return json(422, { code: 'private_address', message: '10.1.2.3 is a private address' });
      const w = hook(7, b.url, { events: b.events, mask_numbers: b.mask_numbers });
      hooks = [...hooks, w];
      return json(201, { webhook: w, secret: 'whsec_NEWSECRET123' });
    }
    if (u === '/api/integrations/webhooks/4' && m === 'PATCH') {
      hooks = hooks.map((w) => (w.id === 4 ? { ...w, ...b, disabled_reason: null, failing_since: null } : w));
      return json(200, hooks.find((w) => w.id === 4));
    }
    if (u === '/api/integrations/webhooks/3' && m === 'DELETE') {
      hooks = hooks.filter((w) => w.id !== 3);
      return new Response(null, { status: 204 });
    }
    if (u === '/api/integrations/webhooks/3/rotate' && m === 'POST') return json(200, { secret: 'whsec_ROTATED456' });
    if (u === '/api/integrations/webhooks/3/test' && m === 'POST') return json(202, { message_id: 'msg_ping1' });
    if (u === '/api/integrations/webhooks/3/deliveries?limit=50') {
      return json(200, {
        deliveries: [
          delivery('msg_1', {
            state: 'failed', attempts: 2, last_status: 503, next_try_at: '2026-12-05T10:05:00Z', created_at: '2026-12-05T10:01:00Z',
            attempts_log: [
              { at: '2026-12-05T10:01:01Z', status: null, error: 'timeout after 10 s', duration_ms: 10000 },
              { at: '2026-12-05T10:02:01Z', status: 503, error: null, duration_ms: 240 },
            ],
          }),
          delivery('msg_2'),
        ],
        next: 'cur_2',
      });
    }
    if (u === '/api/integrations/webhooks/3/deliveries?before=cur_2&limit=50') {
      // A state the log does not know (the document's `state` is a plain string) shows as the server wrote it; no `next`: the end.
      return json(200, { deliveries: [delivery('msg_0', { event_type: 'ping', state: 'discarded' })] });
    }
    if (u === '/api/integrations/webhooks/3/deliveries/msg_1/replay' && m === 'POST') return json(202, { message_id: 'msg_9' });
    return json(404, { code: 'not_found', message: 'no' });
  });
}

const rows = () => [...h.root.querySelectorAll<HTMLElement>('[data-testid="delivery-row"]')];

describe('webhooks', () => {
  it('lists endpoints with their state; the delivery log opens attempts, replays a delivery and loads older ones', async () => {
    server();
    h.show(<Webhooks />);
    await h.until(() => h.root.querySelectorAll('[data-testid="hook-row"]').length === 2);
    const [first, second] = [...h.root.querySelectorAll('[data-testid="hook-row"]')];
    expect(first!.textContent).toContain(URL3);
    expect(first!.textContent).toContain('call.ringing');
    expect(first!.querySelector('[data-testid="hook-status"]')!.textContent).toContain('Enabled');
    expect(second!.querySelector('[data-testid="hook-status"]')!.textContent).toContain('Disabled');
    expect(second!.querySelector('[data-testid="hook-reason"]')!.textContent).toBe('failing since 2026-12-04 09:00: 503');

    await h.click(`Delivery log: ${URL3}`);
    await h.until(() => rows().length === 2);
    expect(rows()[0]!.textContent).toContain('Failed');
    expect(rows()[0]!.textContent).toContain('HTTP 503');
    expect(h.q('[data-testid="attempts"]')).toBeNull();

    const toggle = rows()[0]!.querySelector<HTMLButtonElement>('[data-testid="delivery-toggle"]')!;
    await act(() => toggle.click());
    expect(toggle.getAttribute('aria-expanded')).toBe('true');
    const attempts = [...h.q('[data-testid="attempts"]')!.querySelectorAll('li')].map((li) => li.textContent);
    expect(attempts).toHaveLength(2);
    expect(attempts[0]).toContain('timeout after 10 s');
    expect(attempts[0]).toContain('10000 ms');
    expect(attempts[1]).toContain('HTTP 503');

    await act(() => h.q<HTMLButtonElement>('[data-testid="delivery-more"]')!.click());
    await h.until(() => rows().length === 3);
    expect(h.sent()).toContain('GET /api/integrations/webhooks/3/deliveries?before=cur_2&limit=50');
    expect(rows()[2]!.textContent).toContain('ping');
    expect(rows()[2]!.textContent).toContain('discarded');
    expect(h.q('[data-testid="delivery-more"]')).toBeNull();

    await h.click('Replay: msg_1');
    await h.until(() => h.root.textContent?.includes('Sent again as msg_9.'));
    const replays = h.requests.filter((r) => r.method === 'POST');
    expect(replays.map((r) => r.url)).toEqual(['/api/integrations/webhooks/3/deliveries/msg_1/replay']);
    expect(replays[0]!.headers['X-CSRF-Token']).toBe('test-token');
  });

  it('adds an endpoint (the refusal on the URL field, then the secret once), re-enables, rotates, sends a test and deletes', async () => {
    server();
    h.show(<Webhooks />);
    await h.until(() => h.root.querySelectorAll('[data-testid="hook-row"]').length === 2);

    await act(() => h.q<HTMLButtonElement>('[data-testid="hook-new"]')!.click());
    await h.type('#hook-url', 'https://10.1.2.3/in');
    await act(() => h.q<HTMLInputElement>('[data-testid="event-call.missed"]')!.click());
    await act(() => h.q<HTMLInputElement>('[data-testid="hook-mask"]')!.click());
    await h.submit();
    const err = await h.until(() => h.q('#hook-url-error'));
    expect(err.textContent).toContain('private network');
    expect(err.textContent).toContain('10.1.2.3 is a private address');
    expect(h.q('#hook-url')!.getAttribute('aria-invalid')).toBe('true');
    await h.type('#hook-url', 'https://new.example.com/in');
    await h.submit();
    await h.until(() => h.q('[data-testid="secret-value"]'));
    expect(h.q('[data-testid="secret-value"]')!.textContent).toBe('whsec_NEWSECRET123');
    expect(h.requests.filter((r) => r.method === 'POST').at(-1)!.body).toEqual({ url: 'https://new.example.com/in', events: ['call.missed'], mask_numbers: true });
    await h.click('Done, I have copied it');
    await h.until(() => h.root.querySelectorAll('[data-testid="hook-row"]').length === 3);
    expect(h.root.textContent).not.toContain('whsec_NEWSECRET123');

    await h.click(`Enable: ${URL4}`);
    await h.until(() => h.root.querySelectorAll('[data-testid="hook-row"]')[1]!.textContent?.includes('Enabled'));
    expect(h.requests.find((r) => r.method === 'PATCH')!.body).toEqual({ enabled: true });

    await h.click(`Rotate secret: ${URL3}`);
    expect(h.q('.dialog')!.textContent).toContain('keeps signing for 24 hours');
    await act(() => [...h.q('.dialog')!.querySelectorAll('button')].find((b) => b.textContent === 'Rotate secret')!.click());
    await h.until(() => h.q('[data-testid="secret-value"]'));
    expect(h.q('[data-testid="secret-value"]')!.textContent).toBe('whsec_ROTATED456');
    expect(h.q('[data-testid="secret-once"]')!.textContent).toContain('The previous secret keeps signing for 24 hours');
    await h.click('Done, I have copied it');
    expect(h.root.textContent).not.toContain('whsec_ROTATED456');

    await h.click(`Send test event: ${URL3}`);
    await h.until(() => h.root.textContent?.includes('A test event (ping) is on its way'));
    expect(h.root.textContent).toContain('msg_ping1');
    await h.until(() => h.q('[data-testid="delivery-log"]'));

    await h.click(`Delete: ${URL3}`);
    await act(() => [...h.q('.dialog')!.querySelectorAll('button')].find((b) => b.textContent === 'Delete')!.click());
    await h.until(() => h.root.querySelectorAll('[data-testid="hook-row"]').length === 2);
    expect(h.sent()).toContain('DELETE /api/integrations/webhooks/3');
    expect(h.q('[data-testid="delivery-log"]')).toBeNull();
  });
});
