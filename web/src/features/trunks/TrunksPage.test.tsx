import { render } from 'preact';
import { act } from 'preact/test-utils';
import { describe, expect, it } from 'vitest';
import type { Trunk } from '../../shared/api/types';
import { TrunksPage } from './TrunksPage';
import { FakeSocket, json, pageHarness } from '../../test/harness';

const h = pageHarness();
const { serve, until, type, click, submit } = h;

const TRUNK: Trunk = {
  id: 7, position: 1, mode: 'simple', label: 'Main carrier', number: null, username: 'u1', domain: 'sip.x.ru', host: 'sip.x.ru',
  rewrite: null, preset: null, password_set: true, registration: 't1-trk1', status: { state: 'waiting', reason: null, since: null },
};

describe('TrunksPage', () => {

  it('shows each trunk with its status in words and follows live status events', async () => {
    serve((m, url) => (m === 'GET' && url === '/api/trunks' ? json(200, [TRUNK]) : json(404, { code: 'not_found', message: '' })));
    render(<TrunksPage />, h.root);
    await until(() => h.root.textContent?.includes('Waiting for the carrier'));
    expect(h.root.textContent).toContain('Outbound calls use this trunk');
    expect(FakeSocket.last?.url).toMatch(/\/events$/);
    await act(() => {
      FakeSocket.last!.onmessage?.({ data: JSON.stringify({ type: 'trunk_status', registration: 't1-trk1', state: 'rejected', reason: 'rejected by carrier (check user and password)', since: 1 }) });
    });
    await until(() => h.root.textContent?.includes('Not registered: refused'));
    expect(h.root.textContent).toContain('check the user and password');
    expect(h.root.querySelector('.trunk-card--bad')).not.toBeNull();
  });

  it('says in words why a new trunk was not saved', async () => {
    serve((m, url) => {
      if (m === 'GET' && url === '/api/trunks') return json(200, []);
      if (m === 'GET' && url === '/api/trunks/presets') return json(200, []);
      if (m === 'POST' && url === '/api/trunks')
        return json(503, { code: 'asterisk_unavailable', message: 'the telephony engine did not accept the change' });
      return json(404, { code: 'not_found', message: '' });
    });
    render(<TrunksPage />, h.root);
    await until(() => h.root.textContent?.includes('No trunks yet'));
    await click('+ Add trunk');
    await type('#trunk-user', 'u1');
    await type('#trunk-password', 'secret');
    await type('#trunk-domain', 'sip.x.ru');
    await submit();
    await until(() => h.root.textContent?.includes('nothing was saved'));
    expect(h.sent()).toContain('POST /api/trunks');
  });
});
