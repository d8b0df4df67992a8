import { describe, expect, it } from 'vitest';
import { act } from 'preact/test-utils';
import { useState } from 'preact/hooks';
import { TransferTarget, type Target } from './TransferTarget';
import { json, pageHarness } from '../../test/harness';

const h = pageHarness();

const table = {
  id: 4, name: 'Clients', call_table: true, card_field_ids: [], record_count: 1,
  fields: [{ id: 10, name: 'Name', kind: 'text', options: [], is_title: true, position: 0 },
    { id: 11, name: 'Phone', kind: 'phone', options: [], is_title: false, position: 1 }],
};

describe('the transfer target', () => {
  it('lists colleagues with their state, finds CRM clients by name and picks one by reference', async () => {
    h.serve((_m, u) => {
      if (u === '/api/crm/tables') return json(200, [table]);
      if (u.startsWith('/api/crm/tables/4/records')) {
        return json(200, { records: [{ id: 12, table_id: 4, title: 'Anna Petrova', values: { 10: 'Anna Petrova', 11: '*******4567' }, phones: {}, created_at: '', updated_at: '' }],
          total: 1, total_capped: false, page: 1, per_page: 5 });
      }
      return json(404, {});
    });
    let picked: Target = { text: '' };
    function Host() {
      const [v, setV] = useState<Target>({ text: '' });
      picked = v;
      return <TransferTarget value={v} onChange={setV} onFocus={() => undefined}
        colleagues={[{ user_id: 3, name: 'Boris', extension: '103', state: 'break', online: true },
          { user_id: 4, name: 'Olga', extension: '104', state: 'available', online: false }]} />;
    }
    h.show(<Host />);
    const options = [...h.root.querySelectorAll('#phone-colleagues option')].map((o) => `${(o as HTMLOptionElement).value} ${o.textContent}`);
    expect(options).toEqual(['103 Boris · on break', '104 Olga · offline']);
    const input = h.q<HTMLInputElement>('[data-testid=phone-transfer-target]')!;
    input.value = 'Anna';
    await act(() => { input.dispatchEvent(new Event('input')); });
    const client = await h.until(() => h.q<HTMLButtonElement>('[data-testid=phone-transfer-client]'));
    expect(client.textContent).toBe('Anna Petrova · *******4567');
    expect(h.requests.find((r) => r.url.startsWith('/api/crm/tables/4/records'))!.url).toContain('q=Anna');
    await act(() => client.click());
    expect(picked).toEqual({ text: 'Anna Petrova · *******4567', ref: 'crm12x11' });
    // Digits are a number or an extension: no search.
    input.value = '104';
    await act(() => { input.dispatchEvent(new Event('input')); });
    await new Promise((r) => setTimeout(r, 300));
    expect(h.requests.filter((r) => r.url.startsWith('/api/crm/tables/4/records'))).toHaveLength(1);
    expect(picked).toEqual({ text: '104' });
  });
});
