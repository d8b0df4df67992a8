import { describe, expect, it } from 'vitest';
import { act } from 'preact/test-utils';
import { RoutingForm } from './RoutingForm';
import { json, pageHarness } from '../../test/harness';

const h = pageHarness();

describe('inbound routing', () => {
  it('chooses the language of the prompts callers hear', async () => {
    let saved = { ring_timeout_secs: 15, forward_number: null, park_timeout_secs: 60, voicemail: false, prompt_language: 'en' };
    h.serve((m, u, b) => {
      if (u === '/api/telephony/routing' && m === 'GET') return json(200, saved);
      if (u === '/api/telephony/routing' && m === 'PUT') {
        saved = { ...saved, ...b };
        return json(200, saved);
      }
      return json(404, {});
    });
    h.show(<RoutingForm />);
    const select = await h.until(() => h.q<HTMLSelectElement>('[data-testid=tel-prompt-language]'));
    expect(select.value).toBe('en');
    select.value = 'ru';
    await act(() => { select.dispatchEvent(new Event('change', { bubbles: true })); });
    const form = h.q<HTMLFormElement>('form')!;
    await act(() => { form.dispatchEvent(new Event('submit', { bubbles: true, cancelable: true })); });
    await h.until(() => h.requests.some((r) => r.method === 'PUT'));
    const put = h.requests.find((r) => r.method === 'PUT')!;
    expect(put.body.prompt_language).toBe('ru');
    await h.until(() => saved.prompt_language === 'ru');
    expect(h.q<HTMLSelectElement>('[data-testid=tel-prompt-language]')!.value).toBe('ru');
  });
});
