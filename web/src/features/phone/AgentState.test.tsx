import { describe, expect, it } from 'vitest';
import { act } from 'preact/test-utils';
import { AgentStatePicker } from './AgentState';
import { FakeSocket, json, pageHarness } from '../../test/harness';

const h = pageHarness();

const settings = { break_reasons: ['Lunch', 'Training'], wrapup_max_secs: 60, missed_to_break: 0 };
const since = '2026-12-04T10:00:00Z';

describe('the agent state in the phone', () => {
  it('shows the state, sets a break with a reason, and follows agent_state events of this user only', async () => {
    let state = { user_id: 7, state: 'available', reason: null as string | null, since, wrapup_until: null as string | null };
    h.serve((m, u, body) => {
      if (u.endsWith('/api/telephony/me/state') && m === 'GET') return json(200, state);
      if (u.endsWith('/api/telephony/me/state') && m === 'PUT') {
        state = { ...state, state: body.state, reason: body.reason ?? null };
        return json(200, state);
      }
      if (u.endsWith('/api/telephony/agent-settings')) return json(200, settings);
      return json(404, {});
    });
    h.show(<AgentStatePicker userId={7} />);
    const select = await h.until(() => h.q<HTMLSelectElement>('[data-testid=agent-state]'));
    expect(select.value).toBe('available');
    expect([...select.options].map((o) => o.textContent)).toEqual(['Available', 'Break: Lunch', 'Break: Training', 'Do not disturb']);
    await act(() => {
      select.value = 'break:Training';
      select.dispatchEvent(new Event('change'));
    });
    await h.until(() => h.q('[data-state=break]'));
    expect(h.requests.find((r) => r.method === 'PUT')?.body).toEqual({ state: 'break', reason: 'Training' });

    // Another user's news changes nothing; this user's wrap-up shows with its Ready button.
    const until = new Date(Date.now() + 30_000).toISOString();
    await act(() => FakeSocket.last!.push({ type: 'agent_state', user_id: 8, state: 'dnd', reason: null, since, wrapup_until: null }));
    expect(h.q('[data-state=break]')).not.toBeNull();
    await act(() => FakeSocket.last!.push({ type: 'agent_state', user_id: 7, state: 'wrapup', reason: null, since, wrapup_until: until }));
    await h.until(() => h.q('[data-testid=agent-ready]'));
    expect(h.q('[data-testid=agent-state-wrapup]')?.textContent).toMatch(/Wrap-up · 00:(29|30)/);
    await h.click('Ready');
    await h.until(() => h.q('[data-state=available]'));
    expect(h.requests.filter((r) => r.method === 'PUT').at(-1)?.body).toEqual({ state: 'available' });
  });

  it('names the server-set break for missed calls', async () => {
    h.serve((_m, u) => {
      if (u.endsWith('/api/telephony/me/state')) return json(200, { user_id: 7, state: 'break', reason: 'missed calls', since, wrapup_until: null });
      if (u.endsWith('/api/telephony/agent-settings')) return json(200, settings);
      return json(404, {});
    });
    h.show(<AgentStatePicker userId={7} />);
    const select = await h.until(() => h.q<HTMLSelectElement>('[data-testid=agent-state]'));
    await h.until(() => (select.selectedOptions[0]?.textContent === 'Break: missed calls' ? true : null));
  });
});
