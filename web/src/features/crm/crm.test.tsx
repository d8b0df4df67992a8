import { render } from 'preact';
import { act } from 'preact/test-utils';
import { describe, expect, it } from 'vitest';
import type { CrmRecord, CrmTable } from '../../shared/api/types';
import { CallCard } from '../calls/card/CallCard';
import { CrmPage } from './CrmPage';
import { RecordDialog } from './RecordDialog';
import { dialRequest, sipTarget } from './dial';
import { FakeSocket, json, pageHarness, waitFor } from '../../test/harness';

const h = pageHarness({ hash: '#/crm' });
const { serve, until, q } = h;

const TABLE: CrmTable = {
  id: 7, name: 'Clients', call_table: true, card_field_ids: [2, 1], record_count: 2,
  fields: [
    { id: 1, name: 'Name', kind: 'text', options: [], is_title: true, position: 1 },
    { id: 2, name: 'Phone', kind: 'phone', options: [], is_title: false, position: 2 },
    { id: 3, name: 'Phone 2', kind: 'phone', options: [], is_title: false, position: 3 },
    { id: 5, name: 'Status', kind: 'select', options: ['new', 'client'], is_title: false, position: 5 },
    { id: 6, name: 'Manager', kind: 'user', options: [], is_title: false, position: 6 },
  ],
};
const rec = (id: number, name: string, phone: string, e164: string | null, patch: Partial<CrmRecord> = {}): CrmRecord => ({
  id, table_id: 7, title: name, values: { '1': name, '2': phone, '5': 'client', '6': 3 },
  phones: { '2': { e164, valid: e164 !== null } }, created_at: '2026-11-24T10:00:00Z', updated_at: '2026-11-24T10:00:00Z', ...patch,
});

describe('CRM page', () => {
  it('pages forward after the last record of each page and back to the cursor it came by', async () => {
    const next: Record<number, string | undefined> = { 1: 'c1', 2: 'c2', 3: undefined };
    serve((_m, u) => {
      if (u === '/api/crm/tables') return json(200, [TABLE]);
      if (u === '/api/crm/users') return json(200, []);
      if (u.startsWith('/api/crm/tables/7/records')) {
        const p = Number(new URLSearchParams(u.split('?')[1]).get('page') ?? '1');
        const records = Array.from({ length: p < 3 ? 50 : 3 }, (_, i) => rec(p * 100 + i, `R${p}-${i}`, '', null));
        return json(200, { records, total: 10000, total_capped: true, page: p, per_page: 50, next: next[p] });
      }
      return json(404, { code: 'not_found', message: 'no' });
    });
    await act(async () => render(<CrmPage isAdmin={true} />, h.root));
    await until(() => q('[data-testid="rec-100"]'));
    const [back, forward] = [...h.root.querySelectorAll<HTMLButtonElement>('.pager button')];
    const recordUrls = () => h.requests.filter((r) => r.url.startsWith('/api/crm/tables/7/records')).map((r) => r.url);
    expect(recordUrls()[0]).not.toContain('after=');
    await act(async () => forward.click());
    await until(() => q('[data-testid="rec-200"]'));
    expect(recordUrls().at(-1)).toContain('page=2');
    expect(recordUrls().at(-1)).toContain('after=c1');
    await act(async () => forward.click());
    await until(() => q('[data-testid="rec-300"]'));
    expect(recordUrls().at(-1)).toContain('after=c2');
    expect(forward.disabled).toBe(true);
    await act(async () => back.click());
    await until(() => q('[data-testid="rec-200"]'));
    expect(recordUrls().at(-1)).toContain('after=c1');
    await act(async () => back.click());
    await until(() => q('[data-testid="rec-100"]'));
    expect(recordUrls().at(-1)).not.toContain('after=');
  });

  it('lists records with user names, sorts by a column, searches, filters and calls a phone with the handset', async () => {
    serve((_m, u) => {
      if (u === '/api/crm/tables') return json(200, [TABLE]);
      if (u === '/api/crm/users') return json(200, [{ id: 3, name: 'Maria Manager' }]);
      if (u.startsWith('/api/crm/tables/7/records')) {
        return json(200, { records: [rec(1, 'Anna', '8 916 123-45-67', '+79161234567'), rec(2, 'Boris', 'ask reception', null)], total: 2, total_capped: false, page: 1, per_page: 50 });
      }
      return json(404, { code: 'not_found', message: 'no' });
    });
    const dials: any[] = [];
    const onDial = (e: Event) => dials.push((e as CustomEvent).detail);
    window.addEventListener('callbase:dial', onDial);
    await act(async () => render(<CrmPage isAdmin={true} />, h.root));
    await until(() => q('[data-testid="rec-1"]'));
    expect(q('[data-testid="rec-1"]')!.textContent).toContain('Maria Manager');
    expect(q('[data-testid="rec-2"]')!.textContent).toContain('⚠');
    expect(q('[data-testid="dial-2-2"]')).toBeNull();

    await act(async () => q<HTMLButtonElement>('[data-testid="dial-1-2"]')!.click());
    expect(dials).toEqual([{ number: '+79161234567', record: 1, field: 2, label: 'Anna' }]);

    const nameHeader = [...h.root.querySelectorAll('th button')].find((b) => b.textContent === 'Name') as HTMLButtonElement;
    await act(async () => nameHeader.click());
    await until(() => h.requests.some((r) => r.url.includes('sort=1') && !r.url.includes('desc')));
    await act(async () => nameHeader.click());
    await until(() => h.requests.some((r) => r.url.includes('sort=1&desc=true')));

    const search = q<HTMLInputElement>('[data-testid="crm-search"]')!;
    search.value = 'anna';
    await act(async () => {
      search.dispatchEvent(new Event('input'));
    });
    await until(() => h.requests.some((r) => r.url.includes('q=anna')));

    const [fieldSel, opSel] = [...h.root.querySelectorAll<HTMLSelectElement>('.filter-adder select')];
    fieldSel.value = '5';
    fieldSel.dispatchEvent(new Event('change'));
    opSel.value = 'equals';
    await act(async () => {
      opSel.dispatchEvent(new Event('change'));
    });
    const val = q<HTMLInputElement>('.filter-adder input')!;
    val.value = 'client';
    await act(async () => {
      val.dispatchEvent(new Event('input'));
    });
    await act(async () => {
      q<HTMLFormElement>('.filter-adder')!.dispatchEvent(new Event('submit'));
    });
    await until(() => h.requests.some((r) => decodeURIComponent(r.url).includes('"field":5,"op":"equals","value":"client"')));
    expect(h.root.textContent).toContain('Status equals client');
    window.removeEventListener('callbase:dial', onDial);
  });

  it("a record lists the client's calls with their recordings, and calls the client again", async () => {
    const call = {
      id: 'c1', direction: 'inbound', number: '+79161234567', started_at: '2026-12-01T10:00:00Z', user_name: 'Maria Manager',
      result: 'answered', duration_secs: 65, note: 'Wants a discount', recording: { state: 'stored', file_name: 'c1.mp3' },
    };
    serve((_m, u) => {
      if (u.startsWith('/api/calls?')) return json(200, { items: [call], total: 3, page: 1, per_page: 20 });
      return json(404, { code: 'not_found', message: 'no' });
    });
    const dials: any[] = [];
    const onDial = (e: Event) => dials.push((e as CustomEvent).detail);
    window.addEventListener('callbase:dial', onDial);
    await act(async () => render(<RecordDialog table={TABLE} rec={rec(1, 'Anna', '8 916 123-45-67', '+79161234567')} users={[]} onClose={() => undefined} onSaved={() => undefined} />, h.root));
    const item = await until(() => q('[data-testid="client-call-c1"]'));
    expect(h.requests.some((r) => r.url.startsWith('/api/calls?') && r.url.includes('record_id=1'))).toBe(true);
    expect(item.textContent).toContain('Maria Manager');
    expect(item.textContent).toContain('Wants a discount');
    expect(item.querySelector('audio')?.getAttribute('src')).toBe('/api/calls/c1/recording');
    expect(q('[data-testid="client-calls"]')!.textContent).toContain('and 2 earlier');
    await act(async () => q<HTMLButtonElement>('[data-testid="client-redial"]')!.click());
    expect(dials).toEqual([{ number: '+79161234567', record: 1, field: 2, label: 'Anna' }]);
    window.removeEventListener('callbase:dial', onDial);
  });

  it('offers the import to administrators only (the server refuses others)', async () => {
    serve((_m, u) => {
      if (u === '/api/crm/tables') return json(200, [TABLE]);
      if (u === '/api/crm/users') return json(200, []);
      if (u.startsWith('/api/crm/tables/7/records')) return json(200, { records: [], total: 0, total_capped: false, page: 1, per_page: 50 });
      return json(404, { code: 'not_found', message: 'no' });
    });
    await act(async () => render(<CrmPage isAdmin={false} />, h.root));
    await until(() => q('[data-testid="crm-table"]'));
    expect([...h.root.querySelectorAll('button')].some((b) => b.textContent === 'Import')).toBe(false);
    expect([...h.root.querySelectorAll('a')].some((a) => a.textContent === 'Export CSV')).toBe(true);
  });

  it('imports a file: mapping from the suggestions, a progress bar, then the report with bad rows', async () => {
    let polls = 0;
    serve((m, u, b) => {
      if (u === '/api/crm/tables') return json(200, [TABLE]);
      if (u === '/api/crm/users') return json(200, []);
      if (u.startsWith('/api/crm/tables/7/records')) return json(200, { records: [], total: 0, total_capped: false, page: 1, per_page: 50 });
      if (u.startsWith('/api/crm/tables/7/imports') && m === 'POST') {
        return json(201, { id: 'imp1', columns: ['Full name', 'Phone'], preview: [['Anna', '123']], rows: 3, delimiter: ';', suggested: [null, 2] });
      }
      if (u === '/api/crm/imports/imp1/run') {
        expect(b).toEqual({ mapping: [1, 2], skip_invalid: true });
        return json(202, { id: 'imp1', table_id: 7, state: 'running', rows: 3, done_rows: 0, inserted: 0, skipped: 0, phones_as_text: 0, errors: [], message: null });
      }
      if (u === '/api/crm/imports/imp1') {
        polls++;
        return json(200, { id: 'imp1', table_id: 7, state: 'done', rows: 3, done_rows: 2, inserted: 2, skipped: 1, phones_as_text: 1,
          errors: [{ line: 3, field: 'Status', message: "'vip' is not one of: new, client" }], message: null });
      }
      return json(404, { code: 'not_found', message: 'no' });
    });
    await act(async () => render(<CrmPage isAdmin={true} />, h.root));
    await until(() => q('[data-testid="crm-table"]'));
    const importBtn = [...h.root.querySelectorAll('button')].find((b) => b.textContent === 'Import') as HTMLButtonElement;
    await act(async () => importBtn.click());
    const input = document.querySelector<HTMLInputElement>('[data-testid="import-file"]')!;
    const file = new File(['Full name;Phone\nAnna;123\n'], 'clients.csv', { type: 'text/csv' });
    Object.defineProperty(input, 'files', { value: [file] });
    await act(async () => {
      input.dispatchEvent(new Event('change'));
    });
    await waitFor(() => document.querySelector('[data-testid="import-mapping"]'), () => document.body.textContent ?? '');
    const selects = document.querySelectorAll<HTMLSelectElement>('[data-testid="import-mapping"] select');
    expect(selects[1].value).toBe('2');
    selects[0].value = '1';
    await act(async () => {
      selects[0].dispatchEvent(new Event('change'));
    });
    const skip = [...document.querySelectorAll<HTMLInputElement>('.dialog input[type=checkbox]')].pop()!;
    skip.checked = true;
    await act(async () => {
      skip.dispatchEvent(new Event('change'));
    });
    await act(async () => document.querySelector<HTMLButtonElement>('[data-testid="import-run"]')!.click());
    await waitFor(() => (document.body.textContent?.includes('Imported 2 records') ? true : null), () => document.body.textContent ?? '');
    expect(polls).toBeGreaterThan(0);
    expect(document.body.textContent).toContain("Line 3, Status: 'vip' is not one of");
    expect(document.body.textContent).toContain('1 phone numbers could not be normalised');
  });

  it('masked numbers are dialled by reference, never by the masked text', () => {
    const r = rec(9, 'Secret', '********4567', '********4567');
    const req = dialRequest(r, 2)!;
    expect(req).toEqual({ record: 9, field: 2, label: 'Secret' });
    expect(sipTarget(req)).toBe('crm9x2');
    expect(sipTarget({ number: '+79161234567' })).toBe('+79161234567');
  });
});

describe('Call card', () => {
  it('pops up on a call with the matched client, runs a timer, and saves a note on the call', async () => {
    serve((m, u, b) => {
      if (u === '/api/calls/c1/card') {
        return json(200, { number: '+79161234567', linked_record_id: null, similar: false, matches: [{ record_id: 1, table_id: 7, table_name: 'Clients', title: 'Anna Petrova', field_id: 2,
          card: [{ field_id: 2, name: 'Phone', kind: 'phone', value: '8 916 123-45-67' }, { field_id: 5, name: 'Status', kind: 'select', value: 'client' }] }] });
      }
      if (u === '/api/crm/tables') return json(200, [TABLE]);
      if (u === '/api/calls/c1' && m === 'PATCH') {
        expect(b).toEqual({ note: 'wants a callback' });
        return json(200, {});
      }
      return json(404, { code: 'not_found', message: 'no' });
    });
    await act(async () => render(<CallCard userId={3} />, h.root));
    expect(q('[data-testid="call-card"]')).toBeNull();
    await act(async () => FakeSocket.last!.push({ type: 'call', call_id: 'c1', state: 'ringing', direction: 'inbound', number: '+79161234567', user_ids: [3] }));
    await until(() => q('[data-testid="card-client"]'));
    expect(q('[data-testid="card-client"]')!.textContent).toContain('Anna Petrova');
    expect(q('[data-testid="card-client"]')!.textContent).toContain('client');
    expect(q('[data-testid="call-card"]')!.getAttribute('data-state')).toBe('ringing');
    await act(async () => FakeSocket.last!.push({ type: 'call', call_id: 'c1', state: 'answered', direction: 'inbound', user_id: 3 }));
    expect(q('[data-testid="call-card"]')!.getAttribute('data-state')).toBe('answered');
    const note = q<HTMLTextAreaElement>('.callcard__note textarea')!;
    note.value = 'wants a callback';
    await act(async () => {
      note.dispatchEvent(new Event('input'));
    });
    await act(async () => {
      q<HTMLFormElement>('.callcard__note')!.dispatchEvent(new Event('submit'));
    });
    await until(() => (h.root.textContent?.includes('Saved') ? true : null));
    // Someone else answering another inbound call does not take this card away.
    await act(async () => FakeSocket.last!.push({ type: 'call', call_id: 'c2', state: 'answered', direction: 'inbound', user_id: 4 }));
    expect(q('[data-testid="call-card"]')).not.toBeNull();
  });

  it('an unknown caller: create a client pre-filled with the number on the server', async () => {
    serve((m, u, b) => {
      if (u === '/api/calls/c9/card') return json(200, { number: '******4567', linked_record_id: null, similar: false, matches: [] });
      if (u === '/api/crm/tables') return json(200, [TABLE]);
      if (u === '/api/calls/c9/client' && m === 'POST') {
        expect(b).toEqual({ table_id: 7, values: { '1': 'New caller' } });
        return json(201, rec(44, 'New caller', '******4567', '******4567'));
      }
      return json(404, { code: 'not_found', message: 'no' });
    });
    await act(async () => render(<CallCard userId={3} />, h.root));
    await act(async () => FakeSocket.last!.push({ type: 'call', call_id: 'c9', state: 'ringing', direction: 'inbound', user_ids: [3] }));
    await until(() => q('[data-testid="card-create"]'));
    expect(q('[data-testid="card-number"]')!.textContent).toBe('******4567');
    await act(async () => q<HTMLButtonElement>('[data-testid="card-create"]')!.click());
    const name = q<HTMLInputElement>('[data-testid="card-name"]')!;
    name.value = 'New caller';
    await act(async () => {
      name.dispatchEvent(new Event('input'));
    });
    await act(async () => {
      name.closest('form')!.dispatchEvent(new Event('submit'));
    });
    await until(() => (h.requests.some((r) => r.url === '/api/calls/c9/client') ? true : null));
  });
});
