import { describe, expect, it } from 'vitest';
import { VoicemailBadge } from './VoicemailBadge';
import { json, pageHarness } from '../../test/harness';

const h = pageHarness();

describe('the new-voicemail badge', () => {
  it('counts the new messages the user sees and links to them in Calls', async () => {
    h.serve((m, u) => {
      if (m === 'GET' && u.startsWith('/api/calls?') && u.includes('voicemail=new')) return json(200, { items: [], total: 2, page: 1, per_page: 1 });
      return json(404, {});
    });
    h.show(<VoicemailBadge />);
    const a = await h.until(() => h.q<HTMLAnchorElement>('[data-testid=phone-voicemail]'));
    expect(a.textContent).toBe('New voicemail: 2');
    expect(a.getAttribute('href')).toBe('#/calls?voicemail=new');
  });
});
