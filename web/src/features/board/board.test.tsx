import { describe, expect, it } from 'vitest';
import { act } from 'preact/test-utils';
import { BoardPage } from './BoardPage';
import { FakeSocket, json, pageHarness } from '../../test/harness';
import type { Board } from '../../shared/api/types';

const h = pageHarness();
const now = new Date().toISOString();

function board(): Board {
  return {
    now,
    groups: [{ id: 3, name: 'Sales' }, { id: 4, name: 'Support' }],
    trunks: [{ slot: 1, label: 'Main line', in_use: 0 }],
    calls: [],
    queues: [],
    agents: [
      { user_id: 7, name: 'Anna', extension: '101', group_ids: [3], state: 'available', reason: null, since: now, wrapup_until: null,
        accept_incoming: true, online: { browser: true, desk: false } },
      { user_id: 8, name: 'Boris', extension: '102', group_ids: [4], state: 'break', reason: 'Lunch', since: now, wrapup_until: null,
        accept_incoming: true, online: { browser: false, desk: true } },
      { user_id: 9, name: 'Carl', extension: '103', group_ids: [4], state: 'available', reason: null, since: now, wrapup_until: null,
        accept_incoming: true, online: { browser: false, desk: false } },
    ],
  };
}

const row = (user: number) => h.q<HTMLTableRowElement>(`[data-testid=board-agent][data-user="${user}"]`);
const call = (state: string, extra: Record<string, unknown> = {}) => ({
  type: 'board_call', call_id: 'c1', state, direction: 'inbound', number: '******4567', trunk: 1, user_id: null, ringing: [7],
  crm_record_id: null, on_hold: false, recording: false, at: new Date().toISOString(), ...extra,
});

describe('the live board', () => {
  it('shows each agent with state, follows calls from ringing to talking to the end, and states as they change', async () => {
    h.serve((_m, u) => (u.endsWith('/api/telephony/board') ? json(200, board()) : json(404, {})));
    h.show(<BoardPage userId={1} isAdmin={false} />);
    await h.until(() => row(7));
    expect(row(7)!.dataset.state).toBe('available');
    expect(row(8)!.dataset.state).toBe('break');
    expect(row(8)!.textContent).toContain('Lunch');
    expect(row(9)!.dataset.state).toBe('offline');
    expect(h.q('[data-testid=board-trunk]')?.textContent).toBe('Main line: 0 in use');

    // An inbound call rings Anna: it is on her row and among the calls nobody took.
    await act(() => FakeSocket.last!.push(call('ringing')));
    expect(row(7)!.dataset.busy).toBe('ringing');
    expect(row(7)!.textContent).toContain('******4567');
    expect(h.q('[data-testid=board-waiting]')?.textContent).toBe('Not taken: 1');
    expect(h.q('[data-testid=board-trunk]')?.textContent).toBe('Main line: 1 in use');
    // She answers; then the call is held and recorded.
    await act(() => FakeSocket.last!.push(call('answered', { user_id: 7, ringing: [] })));
    expect(row(7)!.dataset.busy).toBe('talking');
    expect(h.q('[data-testid=board-waiting]')?.textContent).toBe('Not taken: 0');
    await act(() => FakeSocket.last!.push(call('held', { user_id: 7, ringing: [], on_hold: true, recording: true })));
    expect(row(7)!.textContent).toContain('On hold');
    expect(row(7)!.textContent).toContain('REC');
    // She pauses the recording while the caller reads out a card number.
    await act(() => FakeSocket.last!.push(call('answered', { user_id: 7, ringing: [], on_hold: true, recording: true, recording_paused: true })));
    expect(row(7)!.textContent).toContain('Recording paused');
    expect(row(7)!.textContent).not.toContain('REC');
    // It ends; she goes to wrap-up.
    await act(() => FakeSocket.last!.push(call('ended', { user_id: 7, ringing: [] })));
    expect(row(7)!.dataset.busy).toBe('idle');
    const until = new Date(Date.now() + 60_000).toISOString();
    await act(() => FakeSocket.last!.push({ type: 'agent_state', user_id: 7, state: 'wrapup', reason: null, since: now, wrapup_until: until }));
    expect(row(7)!.dataset.state).toBe('wrapup');
    // Carl's desk phone registers; Anna closes her browser phone.
    await act(() => FakeSocket.last!.push({ type: 'agent_presence', user_id: 9, browser: false, desk: true }));
    expect(row(9)!.dataset.state).toBe('available');
    await act(() => FakeSocket.last!.push({ type: 'agent_presence', user_id: 7, browser: false, desk: false }));
    expect(row(7)!.dataset.state).toBe('offline');
    expect(h.requests.filter((r) => r.url.endsWith('/api/telephony/board'))).toHaveLength(1);
  });

  it('shows a parked call in its slot, not on the row of the agent who parked it, until someone takes it', async () => {
    h.serve((_m, u) => (u.endsWith('/api/telephony/board') ? json(200, board()) : json(404, {})));
    h.show(<BoardPage userId={1} isAdmin={false} />);
    await h.until(() => row(7));
    await act(() => FakeSocket.last!.push(call('answered', { user_id: 7, ringing: [] })));
    expect(row(7)!.dataset.busy).toBe('talking');
    await act(() => FakeSocket.last!.push(call('parked', { user_id: 7, ringing: [], on_hold: true, park_slot: 3 })));
    expect(row(7)!.dataset.busy).toBe('idle');
    const slot = h.q('[data-testid=board-parked-call]')!;
    expect(slot.dataset.slot).toBe('3');
    expect(slot.textContent).toContain('Slot 3');
    expect(slot.textContent).toContain('parked by Anna');
    expect(h.q('[data-testid=board-parked-count]')?.textContent).toBe('Parked: 1');
    // Carl picks it up.
    await act(() => FakeSocket.last!.push(call('answered', { user_id: 9, ringing: [], park_slot: null })));
    expect(h.q('[data-testid=board-parked-call]')).toBeNull();
    expect(row(9)!.dataset.busy).toBe('talking');
  });

  it('filters by access group and reads the snapshot again for a new call with a CRM client', async () => {
    let snapshots = 0;
    h.serve((_m, u) => {
      if (!u.endsWith('/api/telephony/board')) return json(404, {});
      snapshots += 1;
      const b = board();
      if (snapshots > 1) {
        b.calls = [{ call_id: 'c1', direction: 'inbound', number: '******4567', trunk: 1, user_id: 7, ringing: [], phase: 'talking',
          on_hold: false, recording: false, recording_paused: false, started_at: now, answered_at: now, client: { record_id: 5, table_id: 1, title: 'Acme Ltd' } }];
      }
      return json(200, b);
    });
    h.show(<BoardPage userId={1} isAdmin={false} />);
    const select = await h.until(() => h.q<HTMLSelectElement>('[data-testid=board-group]'));
    await act(() => {
      select.value = '4';
      select.dispatchEvent(new Event('change'));
    });
    expect(row(7)).toBeNull();
    expect(row(8)).not.toBeNull();
    await act(() => {
      select.value = '';
      select.dispatchEvent(new Event('change'));
    });
    await act(() => FakeSocket.last!.push(call('answered', { user_id: 7, ringing: [], crm_record_id: 5 })));
    await h.until(() => (row(7)!.textContent?.includes('Acme Ltd') ? true : null));
    expect(snapshots).toBe(2);
  });

  it('joins a connected call with the supervisor\'s phone, says why when refused, and shows administrators the log', async () => {
    const posted: { url: string; body: unknown }[] = [];
    let log: unknown[] = [];
    h.serve((m, u, body) => {
      if (u.endsWith('/api/telephony/board')) {
        const b = board();
        b.calls = [
          { call_id: 'c1', direction: 'inbound', number: '******4567', trunk: 1, user_id: 7, ringing: [], phase: 'talking',
            on_hold: false, recording: true, recording_paused: false, started_at: now, answered_at: now, client: null },
          { call_id: 'c2', direction: 'outbound', number: '******1111', trunk: 1, user_id: 8, ringing: [], phase: 'talking',
            on_hold: false, recording: true, recording_paused: false, started_at: now, answered_at: now, client: null },
        ];
        return json(200, b);
      }
      if (m === 'POST' && u.includes('/supervise')) {
        posted.push({ url: u, body });
        if (u.includes('/c2/')) return json(403, { code: 'private_agent', message: 'the agent is in a private group: their calls cannot be listened to' });
        log = [{ id: 1, call_id: 'c1', supervisor_id: 1, supervisor_name: 'Sofia', agent_id: 7, agent_name: 'Anna', mode: 'whisper',
          requested_at: now, answered_at: null, ended_at: null, duration_secs: null, result: null }];
        return json(202, { id: 1 });
      }
      if (u.endsWith('/api/telephony/supervisions')) return json(200, log);
      return json(404, {});
    });
    h.show(<BoardPage userId={1} isAdmin={true} />);
    await h.until(() => row(7));
    await h.until(() => h.q('[data-testid=board-log]'));
    expect(h.q('[data-testid=board-log]')!.textContent).toContain('Nobody has listened');
    // Boris is in a private group: the server says no, and the page says why.
    await act(() => row(8)!.querySelector<HTMLButtonElement>('[data-testid=board-listen]')!.click());
    await h.until(() => (document.body.textContent?.includes('private group') ? true : null));
    await act(() => row(7)!.querySelector<HTMLButtonElement>('[data-testid=board-whisper]')!.click());
    await h.until(() => (document.body.textContent?.includes('Your phone is ringing') ? true : null));
    expect(posted[1]).toEqual({ url: expect.stringContaining('/api/telephony/board/calls/c1/supervise'), body: { mode: 'whisper' } });
    await h.until(() => h.q('[data-testid=board-log-entry]'));
    expect(h.q('[data-testid=board-log-entry]')!.textContent).toContain('Whisper');
  });

  it('offers no supervision of the viewer\'s own call', async () => {
    h.serve((_m, u) => {
      if (!u.endsWith('/api/telephony/board')) return json(404, {});
      const b = board();
      b.calls = [{ call_id: 'c1', direction: 'inbound', number: '******4567', trunk: 1, user_id: 7, ringing: [], phase: 'talking',
        on_hold: false, recording: false, recording_paused: false, started_at: now, answered_at: now, client: null }];
      return json(200, b);
    });
    h.show(<BoardPage userId={7} isAdmin={false} />);
    await h.until(() => row(7));
    expect(row(7)!.dataset.busy).toBe('talking');
    expect(row(7)!.querySelector('[data-testid=board-listen]')).toBeNull();
    expect(h.q('[data-testid=board-log]')).toBeNull();
  });

  it('shows each queue\'s figures, callers waiting in a queue as not taken, and reads the figures again on a queue\'s news', async () => {
    let snapshots = 0;
    const figures = (waiting: number, longest: number, answered: number, inTime: number, callbacks = 0) => ({
      queue_id: 5, name: 'Support', waiting, longest_wait_secs: longest, offered: 10, answered, answered_in_time: inTime,
      abandoned: 1, overflowed: 1, service_level_secs: 20, callbacks_waiting: callbacks,
    });
    const queued = (id: string) => ({ call_id: id, direction: 'inbound', number: '******4567', trunk: 1, user_id: null, ringing: [],
      phase: 'queued', on_hold: false, recording: false, recording_paused: false, started_at: now, answered_at: null, client: null, queue_id: 5 });
    h.serve((_m, u) => {
      if (!u.endsWith('/api/telephony/board')) return json(404, {});
      snapshots += 1;
      const b = board();
      b.queues = [
        snapshots === 1 ? figures(1, 75, 8, 6) : figures(2, 80, 8, 6, 1),
        { queue_id: 6, name: 'Night', waiting: 0, longest_wait_secs: 0, offered: 0, answered: 0, answered_in_time: 0, abandoned: 0,
          overflowed: 0, service_level_secs: 30, callbacks_waiting: 0 },
      ];
      b.calls = snapshots === 1 ? [queued('c9')] : [queued('c9'), queued('c10')];
      return json(200, b);
    });
    h.show(<BoardPage userId={1} isAdmin={false} />);
    await h.until(() => row(7));
    const q = (id: number) => h.q<HTMLTableRowElement>(`[data-testid=board-queue][data-queue="${id}"]`)!;
    expect(q(5).querySelector('[data-testid=board-queue-waiting]')!.textContent).toBe('1');
    expect(q(5).querySelector('[data-testid=board-queue-callbacks]')).toBeNull();
    expect(q(5).querySelector('[data-testid=board-queue-longest]')!.textContent).toMatch(/^01:1[5-7]$/);
    expect(q(5).textContent).toContain('10');
    // 6 answered within 20 s of the 10 who joined today.
    expect(q(5).querySelector('[data-testid=board-queue-sl]')!.textContent).toBe('60% ≤ 20 s');
    expect(q(6).querySelector('[data-testid=board-queue-longest]')!.textContent).toBe('—');
    expect(q(6).querySelector('[data-testid=board-queue-sl]')!.textContent).toBe('— ≤ 30 s');
    // The waiting caller is among the calls nobody took, rings nobody, and says where it waits.
    expect(h.q('[data-testid=board-waiting]')?.textContent).toBe('Not taken: 1');
    const waitingCall = h.q('[data-testid=board-call][data-phase=queued]')!;
    expect(waitingCall.textContent).toContain('waiting in Support');
    expect(row(7)!.dataset.busy).toBe('idle');

    // Another caller joins the queue: shown at once as waiting, not ringing Anna; the figures follow with the snapshot.
    await act(() => FakeSocket.last!.push(call('ringing', { call_id: 'c10', ringing: [], queue_id: 5 })));
    expect(h.root.querySelectorAll('[data-testid=board-call][data-phase=queued]')).toHaveLength(2);
    expect(row(7)!.dataset.busy).toBe('idle');
    expect(snapshots).toBe(1);
    await h.until(() => (q(5).dataset.waiting === '2' ? true : null));
    expect(snapshots).toBe(2);
    // Meanwhile a caller asked to be called back: counted beside the callers waiting.
    expect(q(5).querySelector('[data-testid=board-queue-waiting]')!.textContent).toBe('2');
    expect(q(5).querySelector('[data-testid=board-queue-callbacks]')!.textContent).toBe(' · 1 callback');
    expect(q(5).querySelector('td:nth-child(2)')!.textContent).toBe('2 · 1 callback');
    // A member is chosen for it: Anna's phone rings for the queue's caller.
    await act(() => FakeSocket.last!.push(call('ringing', { call_id: 'c10', ringing: [7], queue_id: 5 })));
    expect(row(7)!.dataset.busy).toBe('ringing');
  });

  it('keeps the news that comes while the snapshot is on its way (a phone registering meanwhile)', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    h.serve(async (_m, u) => {
      if (!u.endsWith('/api/telephony/board')) return json(404, {});
      await gate;
      return json(200, board());
    });
    h.show(<BoardPage userId={1} isAdmin={false} />);
    await h.until(() => FakeSocket.last);
    // Carl's desk phone registers after the server read the snapshot, before it reached the page.
    await act(() => FakeSocket.last!.push({ type: 'agent_presence', user_id: 9, browser: false, desk: true }));
    release();
    await h.until(() => row(9));
    expect(row(9)!.dataset.state).toBe('available');
  });
});

