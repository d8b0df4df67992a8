import { describe, expect, it } from 'vitest';
import { act } from 'preact/test-utils';
import { HoursForm } from './HoursForm';
import { json, pageHarness } from '../../test/harness';

const h = pageHarness();

describe('the business hours editor', () => {
  it('adds opening hours and a holiday, saves the whole schedule and shows what the server refuses', async () => {
    let saved = { enabled: false, time_zone: 'UTC', weekly: [] as { day: number; from: string; to: string }[], holidays: [] as { date: string; name: string }[], closed_forward: null, closed_greeting: false };
    h.serve((m, u, b) => {
      if (u === '/api/telephony/hours' && m === 'GET') return json(200, saved);
      if (u === '/api/telephony/hours/now') return json(200, { open: !saved.enabled, local_now: '2026-12-06 14:05 (Asia/Kolkata)', holiday: null });
      if (u === '/api/telephony/hours' && m === 'PUT') {
        if (b.weekly.length > 1) return json(422, { code: 'overlapping_hours', message: 'weekly[1] overlaps weekly[0]: Monday 09:00–18:00 and 09:00–18:00' });
        saved = { ...saved, ...b };
        return json(200, saved);
      }
      return json(404, {});
    });
    h.show(<HoursForm />);
    await h.until(() => h.q('[data-testid=hours-now]')?.textContent?.includes('Open now'));
    const click = (sel: string) => act(() => h.q<HTMLElement>(sel)!.click());
    const type = async (sel: string, v: string) => {
      const i = h.q<HTMLInputElement>(sel)!;
      i.value = v;
      await act(() => { i.dispatchEvent(new Event('input', { bubbles: true })); });
    };
    await click('[data-testid=hours-enabled]');
    await type('[data-testid=hours-zone]', 'Asia/Kolkata');
    await click('[data-testid=hours-add-1]');
    await click('[data-testid=hours-add-1]');
    await click('[data-testid=hours-save]');
    await h.until(() => h.root.textContent?.includes('Opening hours overlap: weekly[1] overlaps weekly[0]'));
    const remove = h.q('[data-testid=hours-day-1]')!.querySelector<HTMLButtonElement>('button[aria-label="Remove these hours"]')!;
    await act(() => remove.click());
    await click('[data-testid=hours-add-holiday]');
    const date = h.root.querySelector<HTMLInputElement>('input[type=date]')!;
    date.value = '2026-12-31';
    await act(() => { date.dispatchEvent(new Event('input', { bubbles: true })); });
    await click('[data-testid=hours-save]');
    await h.until(() => h.q('[data-testid=hours-now]')?.textContent?.includes('Closed now'));
    const put = h.requests.filter((r) => r.method === 'PUT').at(-1)!;
    expect(put.body).toMatchObject({ enabled: true, time_zone: 'Asia/Kolkata', weekly: [{ day: 1, from: '09:00', to: '18:00' }], holidays: [{ date: '2026-12-31', name: '' }] });
  });
});
