import { act } from 'preact/test-utils';
import { describe, expect, it } from 'vitest';
import { json, pageHarness } from '../../test/harness';
import { insertAt, ScreenPopForm } from './ScreenPopForm';

const h = pageHarness();

describe('screen-pop settings', () => {
  it('inserts placeholders at the cursor, saves, and shows an unknown placeholder on the template field', async () => {
    h.serve((m, u, b) => {
      if (u === '/api/integrations/screen-pop' && m === 'GET') return json(200, { url_template: '', open_on: 'never' });
      if (u === '/api/integrations/screen-pop' && m === 'PUT') {
        if (b.url_template.includes('{phone}')) {
          return json(422, { code: 'unknown_placeholder', message: 'unknown placeholder {phone}' });
        }
        return json(200, b);
      }
      return json(404, { code: 'not_found', message: 'no' });
    });
    h.show(<ScreenPopForm />);
    const input = await h.until(() => h.q<HTMLInputElement>('#pop-template'));
    expect(h.q('#pop-template-hint')!.textContent).toContain('{caller} {callee} {direction} {call_id} {client_id}');
    await h.type('#pop-template', 'https://crm.example.com/card?n=&c=');
    input.setSelectionRange(input.value.indexOf('&'), input.value.indexOf('&'));
    await act(() => h.q<HTMLButtonElement>('[data-testid="chip-caller"]')!.click());
    expect(input.value).toBe('https://crm.example.com/card?n={caller}&c=');
    input.setSelectionRange(input.value.length, input.value.length);
    await act(() => h.q<HTMLButtonElement>('[data-testid="chip-call_id"]')!.click());
    expect(input.value).toBe('https://crm.example.com/card?n={caller}&c={call_id}');
    const select = h.q<HTMLSelectElement>('#pop-open')!;
    expect([...select.options].map((o) => o.textContent)).toEqual(['Never (the button only)', 'When an inbound call rings', 'When the call is answered']);
    select.value = 'ringing';
    await act(() => {
      select.dispatchEvent(new Event('change', { bubbles: true }));
    });
    await h.submit();
    await h.until(() => h.root.textContent?.includes('Saved.'));
    expect(h.requests.find((r) => r.method === 'PUT')!.body).toEqual({ url_template: 'https://crm.example.com/card?n={caller}&c={call_id}', open_on: 'ringing' });

    await h.type('#pop-template', 'https://crm.example.com/card?n={phone}');
    await h.submit();
    const err = await h.until(() => h.q('#pop-template-error'));
    expect(err.textContent).toContain('a placeholder callbase does not know (unknown placeholder {phone})');
    expect(h.q('#pop-template')!.getAttribute('aria-invalid')).toBe('true');
    expect(h.q('#pop-template')!.getAttribute('aria-describedby')).toContain('pop-template-error');
    expect(h.root.textContent).not.toContain('Saved.');
  });

  it('puts a placeholder over the selection', () => {
    expect(insertAt('a=XX&b', '{callee}', 2, 4)).toEqual(['a={callee}&b', 10]);
    expect(insertAt('', '{direction}', 0, 0)).toEqual(['{direction}', 11]);
  });
});
