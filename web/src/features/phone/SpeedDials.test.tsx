import { describe, expect, it } from 'vitest';
import { act } from 'preact/test-utils';
import { SpeedDials } from './SpeedDials';
import { sipTarget, type DialRequest } from '../crm/dial';
import { json, pageHarness } from '../../test/harness';

const h = pageHarness();

describe('speed dial in the phone', () => {
  it('lists the entries of my groups as I may see them and dials one by reference', async () => {
    h.serve((_m, u) =>
      u.endsWith('/api/telephony/me/speed-dials')
        ? json(200, [{ id: 5, group_id: 3, name: 'Head office', number: '******234567', target: 'sd5' }])
        : json(404, {}),
    );
    const dialled: DialRequest[] = [];
    const onDial = (e: Event) => dialled.push((e as CustomEvent<DialRequest>).detail);
    window.addEventListener('callbase:dial', onDial);
    try {
      h.show(<SpeedDials />);
      const btn = await h.until(() => h.q<HTMLButtonElement>('[data-testid=phone-speed-dial]'));
      expect(btn.textContent).toBe('Head office ******234567');
      await act(() => btn.click());
      expect(dialled).toEqual([{ speedDial: 5, label: 'Head office' }]);
      expect(sipTarget(dialled[0]!)).toBe('sd5');
    } finally {
      window.removeEventListener('callbase:dial', onDial);
    }
  });

  it('shows nothing when my groups have no entries', async () => {
    h.serve(() => json(200, []));
    h.show(<SpeedDials />);
    await new Promise((r) => setTimeout(r, 50));
    expect(h.q('[data-testid=phone-speed-dials]')).toBeNull();
  });
});
