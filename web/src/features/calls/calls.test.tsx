import { render } from 'preact';
import { act } from 'preact/test-utils';
import { describe, expect, it, vi } from 'vitest';
import type { CallRecord } from '../../shared/api/types';
import { CallsPage } from './CallsPage';
import { fmtSecs, fmtTime } from './format';
import { TelephonyPage } from '../telephony/TelephonyPage';
import { json, pageHarness } from '../../test/harness';

const h = pageHarness();
const { serve, until, q } = h;

const call = (id: string, patch: Partial<CallRecord> = {}): CallRecord => ({
  id, direction: 'inbound', user_id: 1, user_name: 'Anna', agent_names: ['Anna'], number: '+74951234567', did: '4951110000', trunk_slot: 1,
  started_at: '2026-11-24T10:00:00Z', answered_at: '2026-11-24T10:00:05Z', ended_at: '2026-11-24T10:01:05Z',
  duration_secs: 65, connect_secs: 5, talk_secs: 60, hold_secs: 0, result: 'answered', reason: null, route_note: null, note: null,
  call_type: null, call_result: null, legal_hold: false, voicemail: false, voicemail_new: false,
  recording: { state: 'stored', bytes: 240000, duration_ms: 60000, file_name: `${id}_+74951234567_2026-11-24.mp3` }, ...patch,
});
const settings = { record_calls: true, record_group_ids: [], retention_days: 30, retention_delete_calls: false, calls_visible_to_all: false,
  call_types: ['Sales', 'Support'], call_results: ['Resolved'] };

describe('Calls page', () => {
  it('filters, sorts, plays a recording and downloads the selected ones as records.zip with progress', async () => {
    const zipBytes = new Uint8Array(1000);
    serve((m, u) => {
      if (u.startsWith('/api/calls?')) return json(200, { items: [call('c1'), call('c2', { recording: null, result: 'missed', user_name: null, agent_names: [] })], total: 2, page: 1, per_page: 50 });
      if (u === '/api/telephony/recording') return json(200, settings);
      if (u === '/api/calls/audit') return json(200, [{ call_id: 'c1', user_id: 1, user_name: 'Boss', action: 'listen', ip: '10.0.0.1', user_agent: 'x', at: '2026-11-24T11:00:00Z' }]);
      if (u === '/api/calls/recordings.zip' && m === 'POST') return new Response(zipBytes, { status: 200, headers: { 'Content-Type': 'application/zip', 'Content-Length': '1000' } });
      if (u === '/api/calls/c1' && m === 'PATCH') return json(200, call('c1', { call_type: 'Sales' }));
      return json(404, { code: 'not_found', message: 'no' });
    });
    const saved: string[] = [];
    vi.stubGlobal('URL', Object.assign(URL, { createObjectURL: () => 'blob:x', revokeObjectURL: () => undefined }));
    HTMLAnchorElement.prototype.click = function () { saved.push(this.download); };
    render(<CallsPage isAdmin />, h.root);
    await until(() => q('[data-testid=call-c1]'));
    expect(h.root.textContent).toContain('2 calls');
    expect(h.root.textContent).toContain('Who listened and downloaded');
    expect(q('[data-testid=call-agents-c2]')!.textContent).toBe('—');
    expect(h.requests.find((r) => r.url.startsWith('/api/calls?'))!.url).toContain('sort=started_at');

    const dir = q<HTMLSelectElement>('[data-testid=calls-direction]')!;
    dir.value = 'inbound';
    await act(() => { dir.dispatchEvent(new Event('change')); });
    await until(() => h.requests.find((r) => r.url.includes('direction=inbound')));

    // A row opens: player and download link; the call without a recording cannot be selected.
    await act(() => q<HTMLButtonElement>('[data-testid=call-c1] button')!.click());
    const audio = await until(() => q<HTMLAudioElement>('[data-testid=call-audio]'));
    expect(audio.getAttribute('src')).toBe('/api/calls/c1/recording');
    expect(h.root.innerHTML).toContain('/api/calls/c1/recording?download=1');
    expect(q<HTMLInputElement>('[data-testid=call-c2] input')!.disabled).toBe(true);

    const type = h.root.querySelector<HTMLSelectElement>('.call-detail select')!;
    type.value = 'Sales';
    await act(() => { type.dispatchEvent(new Event('change')); });
    await until(() => h.requests.find((r) => r.method === 'PATCH' && r.body.call_type === 'Sales'));

    const box = q<HTMLInputElement>('[data-testid=call-c1] input')!;
    box.checked = true;
    await act(() => { box.dispatchEvent(new Event('change')); });
    await act(() => q<HTMLButtonElement>('[data-testid=calls-zip]')!.click());
    await until(() => (q('[data-testid=calls-progress]')?.textContent ?? '').includes('saved') || null);
    const zipReq = h.requests.find((r) => r.url === '/api/calls/recordings.zip')!;
    expect(zipReq.body).toEqual({ ids: ['c1'] });
    expect(zipReq.headers['X-CSRF-Token']).toBe('test-token');
    expect(saved).toContain('records.zip');
  });

  it('shows the server error when the archive is refused', async () => {
    serve((_m, u) => {
      if (u.startsWith('/api/calls?')) return json(200, { items: [call('c1')], total: 1, page: 1, per_page: 50 });
      if (u === '/api/telephony/recording') return json(200, settings);
      if (u === '/api/calls/recordings.zip') return json(503, { code: 'storage_unavailable', message: 'storage down' });
      return json(404, { code: 'not_found', message: 'no' });
    });
    render(<CallsPage isAdmin={false} />, h.root);
    const box = await until(() => q<HTMLInputElement>('[data-testid=call-c1] input'));
    box.checked = true;
    await act(() => { box.dispatchEvent(new Event('change')); });
    await act(() => q<HTMLButtonElement>('[data-testid=calls-zip]')!.click());
    const p = await until(() => q('[data-testid=calls-progress]'));
    await until(() => (p.textContent ?? '').includes('did not answer') || null);
    expect(h.root.textContent).not.toContain('Who listened');
  });

  it('says which recordings wait for their server and which were lost with it', async () => {
    serve((_m, u) => {
      if (u.startsWith('/api/calls?')) return json(200, { items: [
        call('c1', { recording: { state: 'waiting', bytes: null, duration_ms: null, file_name: 'a.mp3', reason: 'waiting for node node2, which does not answer' } }),
        call('c2', { recording: { state: 'lost', bytes: null, duration_ms: null, file_name: 'b.mp3', reason: 'lost with node node2' } }),
      ], total: 2, page: 1, per_page: 50 });
      if (u === '/api/telephony/recording') return json(200, settings);
      if (u === '/api/calls/audit') return json(200, []);
      return json(404, { code: 'not_found', message: 'no' });
    });
    render(<CallsPage isAdmin />, h.root);
    await until(() => q('[data-testid=call-c2]'));
    expect(q('[data-testid=call-rec-c1]')!.textContent).toBe('Waiting for its server');
    expect(q('[data-testid=call-rec-c2]')!.textContent).toBe('Lost with its server');
    expect(q('[data-testid=call-rec-c2]')!.getAttribute('title')).toBe('lost with node node2');
    expect(q<HTMLInputElement>('[data-testid=call-c2] input')!.disabled).toBe(true);
    await act(() => q<HTMLButtonElement>('[data-testid=call-c2] button')!.click());
    expect((await until(() => q('[data-testid=call-rec-reason]')))!.textContent).toBe('lost with node node2');
    expect(q('[data-testid=call-audio]')).toBeNull();
  });

  it('opens the missed-calls worklist from the URL, and says who called a missed call back and when', async () => {
    const missed: Partial<CallRecord> = { direction: 'inbound', answered_at: null, duration_secs: 0, talk_secs: 0, connect_secs: null, result: 'missed',
      recording: null, user_name: null, agent_names: [] };
    serve((_m, u) => {
      if (u.startsWith('/api/calls?')) return json(200, { items: [
        call('c1', missed),
        call('c2', { ...missed, called_back_by: 'Boris', called_back_at: '2026-11-24T10:20:00Z' }),
        call('c3'),
        call('c4', { direction: 'outbound' }),
        call('c5', { ...missed, number: '******4567' }),
      ], total: 5, page: 1, per_page: 50 });
      if (u === '/api/telephony/recording') return json(200, settings);
      return json(404, { code: 'not_found', message: 'no' });
    });
    location.hash = '#/calls?called_back=false';
    try {
      render(<CallsPage isAdmin={false} />, h.root);
      await until(() => q('[data-testid=call-c5]'));
    } finally {
      location.hash = '';
    }
    const filter = q<HTMLSelectElement>('[data-testid=calls-filter-callback]')!;
    expect(filter.value).toBe('false');
    expect(filter.selectedOptions[0]!.textContent).toBe('To call back');
    expect(h.requests.filter((r) => r.url.startsWith('/api/calls?')).map((r) => r.url)).toEqual([
      '/api/calls?sort=started_at&order=desc&page=1&per_page=50&called_back=false',
    ]);
    expect(h.root.querySelector('a[download="calls.csv"]')!.getAttribute('href')).toBe('/api/calls/export.csv?sort=started_at&order=desc&called_back=false');

    // A missed call nobody has called back is marked; one called back names who and when; answered and outbound calls say nothing.
    expect(q('[data-testid=call-c1] [data-testid=call-not-called-back]')!.textContent).toBe('Not called back');
    expect(q('[data-testid=call-c1] [data-testid=call-called-back]')).toBeNull();
    expect(q('[data-testid=call-c2] [data-testid=call-called-back]')!.textContent).toBe(`Called back by Boris, ${fmtTime('2026-11-24T10:20:00Z')}`);
    expect(q('[data-testid=call-c2] [data-testid=call-not-called-back]')).toBeNull();
    for (const id of ['c3', 'c4']) {
      expect(q(`[data-testid=call-${id}] [data-testid=call-called-back]`)).toBeNull();
      expect(q(`[data-testid=call-${id}] [data-testid=call-not-called-back]`)).toBeNull();
      expect(q(`[data-testid=call-${id}] [data-testid=call-dial-back]`)).toBeNull();
    }

    // A missed call's number is dialled from its row (the phone dock takes the request); a masked one is not.
    const dialled: unknown[] = [];
    const onDial = (e: Event) => dialled.push((e as CustomEvent).detail);
    window.addEventListener('callbase:dial', onDial);
    try {
      await act(() => q<HTMLButtonElement>('[data-testid=call-c1] [data-testid=call-dial-back]')!.click());
    } finally {
      window.removeEventListener('callbase:dial', onDial);
    }
    expect(dialled).toEqual([{ number: '+74951234567', label: '+74951234567' }]);
    expect(q('[data-testid=call-c2] [data-testid=call-dial-back]')).not.toBeNull();
    expect(q('[data-testid=call-c5] [data-testid=call-not-called-back]')).not.toBeNull();
    expect(q('[data-testid=call-c5] [data-testid=call-dial-back]')).toBeNull();

    // Those called back, then every call again.
    filter.value = 'true';
    await act(() => { filter.dispatchEvent(new Event('change')); });
    await until(() => h.requests.find((r) => r.url.endsWith('&called_back=true')));
    filter.value = '';
    await act(() => { filter.dispatchEvent(new Event('change')); });
    await until(() => (h.requests.filter((r) => r.url.startsWith('/api/calls?')).length === 3 ? true : null));
    expect(h.requests.filter((r) => r.url.startsWith('/api/calls?')).at(-1)!.url).toBe('/api/calls?sort=started_at&order=desc&page=1&per_page=50');
  });

  it('says a missed call was called back when the caller\'s name is not known', async () => {
    serve((_m, u) => {
      if (u.startsWith('/api/calls?')) return json(200, { items: [
        call('c1', { answered_at: null, result: 'missed', recording: null, called_back_by: null, called_back_at: '2026-11-24T10:20:00Z' }),
      ], total: 1, page: 1, per_page: 50 });
      if (u === '/api/telephony/recording') return json(200, settings);
      return json(404, { code: 'not_found', message: 'no' });
    });
    render(<CallsPage isAdmin={false} />, h.root);
    const done = await until(() => q('[data-testid=call-c1] [data-testid=call-called-back]'));
    expect(done.textContent).toBe(`Called back, ${fmtTime('2026-11-24T10:20:00Z')}`);
    expect(h.requests.find((r) => r.url.startsWith('/api/calls?'))!.url).not.toContain('called_back');
  });

  it('formats durations', () => {
    expect(fmtSecs(65)).toBe('1:05');
    expect(fmtSecs(null)).toBe('—');
  });
});

describe('Recording settings', () => {
  it('saves retention and the dictionaries one value per line', async () => {
    serve((m, u, b) => {
      if (u.endsWith('/api/telephony') && m === 'GET') return json(200, { enabled: true, account: 'acme', me: null });
      if (u.endsWith('/api/telephony/users')) return json(200, []);
      if (u.endsWith('/api/users')) return json(200, []);
      if (u.endsWith('/api/groups')) return json(200, []);
      if (u.endsWith('/api/telephony/provisioning')) return json(200, { group_ids: [] });
      if (u.endsWith('/api/telephony/routing')) return json(200, { ring_timeout_secs: 15, forward_number: null });
      if (u.endsWith('/api/telephony/recording') && m === 'GET') return json(200, settings);
      if (u.endsWith('/api/telephony/recording') && m === 'PUT') return json(200, b);
      return json(404, { code: 'not_found', message: 'no' });
    });
    render(<TelephonyPage />, h.root);
    const form = await until(() => q<HTMLFormElement>('[data-testid=rec-form]'));
    const days = q<HTMLInputElement>('[data-testid=rec-retention]')!;
    days.value = '90';
    await act(() => { days.dispatchEvent(new Event('input')); });
    const types = form.querySelectorAll('textarea')[0]!;
    types.value = 'Sales\nSupport\n\nComplaint\n';
    await act(() => { types.dispatchEvent(new Event('input')); });
    await act(() => { form.dispatchEvent(new Event('submit', { cancelable: true })); });
    const put = await until(() => h.requests.find((r) => r.method === 'PUT'));
    expect(put.body.retention_days).toBe(90);
    expect(put.body.call_types).toEqual(['Sales', 'Support', 'Complaint']);
  });
});

describe('A transferred call', () => {
  it('names every agent who talked on it, in order', async () => {
    serve((_m, u) => {
      if (u.startsWith('/api/calls?')) return json(200, { items: [call('c1', { user_name: 'Boris', agent_names: ['Anna', 'Boris'] })], total: 1, page: 1, per_page: 50 });
      if (u === '/api/telephony/recording') return json(200, settings);
      if (u === '/api/calls/audit') return json(200, []);
      return json(404, { code: 'not_found', message: 'no' });
    });
    render(<CallsPage isAdmin />, h.root);
    const cell = await until(() => q('[data-testid=call-agents-c1]'));
    expect(cell.textContent).toBe('Anna → Boris');
  });
});
