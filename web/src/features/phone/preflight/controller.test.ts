import { describe, expect, it, vi } from 'vitest';
import { ECHO_TEST, PhoneController, type Deps, type PhoneApi } from '../controller';
import { FakeSession, FakeUA } from '../fakeSip';

async function registered() {
  const uas: FakeUA[] = [];
  const api = {
    phoneSession: vi.fn(async () => ({
      ws_path: '/sip', uri: 'sip:t1-w5@callbase', authorization_user: 't1-w5', password: 'secret',
      display_name: 'Anna', extension: '101', ice_servers: [], recording_pause_allowed: false, session_expires: 600,
    })),
    phoneStatus: vi.fn(async () => ({ registered: true })),
    previewNumber: vi.fn(async () => ({ refused: null })),
  } as unknown as PhoneApi;
  const storage = new Map<string, string>();
  const remote: (MediaStream | null)[] = [];
  const deps: Deps = {
    api,
    createUA: () => {
      const ua = new FakeUA();
      uas.push(ua);
      return ua;
    },
    sleep: async () => undefined,
    wsUrl: (p) => `ws://test${p}`,
    storage: { getItem: (k) => storage.get(k) ?? null, setItem: (k, v) => void storage.set(k, v) },
    onRemoteStream: (s) => remote.push(s),
    userId: 5,
  };
  const c = new PhoneController(deps);
  await c.start();
  uas[0].emit('registered');
  await vi.waitFor(() => expect(c.snapshot.reg).toBe('registered'));
  return { c, ua: uas[0], remote };
}

const pc = {} as RTCPeerConnection;

describe('the preflight test call', () => {
  it('calls the echo apart from the panel: no call shown, nothing in recent, busy for other calls meanwhile', async () => {
    const { c, ua, remote } = await registered();
    const started = c.startTest();
    expect(ua.dialled[0].target).toBe(`sip:${ECHO_TEST}@callbase`);
    expect(c.snapshot).toMatchObject({ testing: true, call: null });
    const s = ua.dialled[0].session;
    (s as any).connection = pc;
    s.emit('accepted');
    const test = await started;
    expect(test.pc).toBe(pc);

    // Meanwhile an inbound call gets busy and a dial does nothing.
    const inbound = new FakeSession();
    ua.emit('newRTCSession', { originator: 'remote', session: inbound, request: { from: { uri: { user: '79161234567' } } } });
    expect(inbound.calls).toContain('terminate:486');
    await c.dial('4951234567');
    expect(ua.dialled.length).toBe(1);
    expect(c.snapshot.call).toBeNull();

    test.hangup();
    await test.ended;
    expect(c.snapshot).toMatchObject({ testing: false, call: null, recent: [] });
    expect(remote.at(-1)).toBeNull();
  });

  it('rejects with the reason when the echo does not answer, and refuses during a call', async () => {
    const { c, ua } = await registered();
    const started = c.startTest();
    ua.dialled[0].session.emit('failed', { cause: 'Not Found' });
    await expect(started).rejects.toThrow('Not Found');
    expect(c.snapshot.testing).toBe(false);
    await c.dial('4951234567');
    await expect(c.startTest()).rejects.toThrow('finish the call first');
  });
});
