import { describe, expect, it, vi } from 'vitest';
import { PhoneController, cleanNumber, sameOriginWs, type Deps, type PhoneApi } from './controller';
import { FakeSession, FakeUA } from './fakeSip';

function setup(api: Partial<PhoneApi> = {}, sleep: (ms: number) => Promise<void> = async () => undefined) {
  const uas: FakeUA[] = [];
  const status = { registered: true };
  const fullApi: PhoneApi = {
    phoneSession: vi.fn(async () => ({
      ws_path: '/sip',
      uri: 'sip:t1-w5@callbase',
      authorization_user: 't1-w5',
      password: 'secret',
      display_name: 'Anna',
      extension: '101',
      ice_servers: [{ urls: ['turn:10.0.0.9:3478?transport=tcp'], username: '99:t1-u5', credential: 'c' }],
      recording_pause_allowed: true,
      session_expires: 600,
    })),
    phoneStatus: vi.fn(async () => ({ ...status })),
    previewNumber: vi.fn(async () => ({ refused: null })),
    transfer: vi.fn(async () => undefined),
    pauseRecording: vi.fn(async () => undefined),
    consult: vi.fn(async () => undefined),
    endConsult: vi.fn(async () => undefined),
    park: vi.fn(async () => undefined),
    ...api,
  };
  const rings: boolean[] = [];
  const deps: Deps = {
    api: fullApi,
    createUA: (cfg) => {
      const ua = new FakeUA();
      (ua as any).cfg = cfg;
      uas.push(ua);
      return ua;
    },
    ring: (on) => rings.push(on),
    sleep,
    wsUrl: (p) => `ws://test${p}`,
    uuid: () => 'ref-1',
  };
  return { c: new PhoneController(deps), uas, api: fullApi, status, rings };
}

async function registered() {
  const s = setup();
  await s.c.start();
  s.uas[0].emit('registered');
  await vi.waitFor(() => expect(s.c.snapshot.reg).toBe('registered'));
  return s;
}

describe('PhoneController', () => {
  it('stops and says so when the server refuses the phone socket as one too many (4429)', async () => {
    const { c, uas } = setup();
    await c.start();
    uas[0].emit('disconnected', { code: 4429, reason: 'too many phone connections for you (at most 3)' });
    expect(c.snapshot).toMatchObject({ reg: 'failed', regCode: 'too_many_sockets' });
    expect(uas[0].stopped).toBe(true);
    await c.start();
    expect(uas.length).toBe(2);
    expect(c.snapshot.regCode).toBeUndefined();
    uas[1].emit('disconnected', { code: 1006, reason: '' });
    expect(c.snapshot.reg).toBe('connecting');
  });

  it('keeps a live call while the phone socket reconnects, shows reconnecting, and moves the call to the new socket', async () => {
    const s = await registered();
    await s.c.dial('4951234567');
    const d = s.uas[0].dialled[0];
    d.session.emit('accepted');
    d.session.busyRenegotiations = 1;
    // The server replica stops: 1012, then JsSIP's own 'unregistered'.
    s.uas[0].emit('disconnected', { code: 1012, reason: 'server_restart' });
    s.uas[0].emit('unregistered');
    s.uas[0].emit('connecting');
    expect(s.c.snapshot.reg).toBe('reconnecting');
    expect(s.c.snapshot.call?.state).toBe('answered');
    expect(d.session.calls).not.toContain('terminate:');
    // Registered again over the new socket: one re-INVITE, sent once the pending one is done.
    s.uas[0].emit('registered');
    await vi.waitFor(() => expect(s.c.snapshot.reg).toBe('registered'));
    await vi.waitFor(() => expect(d.session.calls.filter((x) => x === 'renegotiate')).toEqual(['renegotiate']));
    // The other side's BYE arrives over the new socket and ends the call as usual.
    d.session.emit('ended', { cause: 'Bye' });
    expect(s.c.snapshot.call?.state).toBe('ended');
    // Without a call, a lost socket is plain "connecting", and nothing is renegotiated.
    s.uas[0].emit('disconnected', { code: 1012, reason: 'server_restart' });
    expect(s.c.snapshot.reg).toBe('connecting');
    s.uas[0].emit('registered');
    await vi.waitFor(() => expect(s.c.snapshot.reg).toBe('registered'));
    expect(d.session.calls.filter((x) => x === 'renegotiate').length).toBe(1);
  });

  it('registers with the rotated password over the same-origin /sip socket', async () => {
    const { c, uas } = setup();
    await c.start();
    expect(uas[0].started).toBe(true);
    expect((uas[0] as any).cfg).toMatchObject({ wsUrl: 'ws://test/sip', password: 'secret', authorization_user: 't1-w5' });
    expect(c.snapshot.reg).toBe('connecting');
    expect(c.snapshot.extension).toBe('101');
  });

  it('shows registered only after the server confirms that Asterisk holds the contact', async () => {
    let confirmed = false;
    const { c, uas, api } = setup({ phoneStatus: vi.fn(async () => ({ registered: confirmed })) }, () => new Promise((r) => setTimeout(r, 10)));
    await c.start();
    uas[0].emit('registered');
    expect(c.snapshot.reg).toBe('confirming');
    await vi.waitFor(() => expect((api.phoneStatus as any).mock.calls.length).toBeGreaterThan(1));
    expect(c.snapshot.reg).not.toBe('registered');
    confirmed = true;
    await vi.waitFor(() => expect(c.snapshot.reg).toBe('registered'));
  });

  it('keeps the phone usable while a registration refresh is re-confirmed', async () => {
    const s = await registered();
    s.uas[0].emit('registered');
    expect(s.c.snapshot.reg).toBe('registered');
  });

  it('gives up with a clear error when the server never confirms', async () => {
    const { c, uas } = setup({ phoneStatus: vi.fn(async () => ({ registered: false })) });
    await c.start();
    uas[0].emit('registered');
    await vi.waitFor(() => expect(c.snapshot.reg).toBe('failed'));
    expect(c.snapshot.regError).toMatch(/does not confirm/);
  });

  it('fetches a fresh password once when registration is refused with 401/403', async () => {
    const { c, uas, api } = setup();
    await c.start();
    uas[0].emit('registrationFailed', { response: { status_code: 403 }, cause: 'Rejected' });
    await vi.waitFor(() => expect(uas.length).toBe(2));
    expect(uas[0].stopped).toBe(true);
    expect(api.phoneSession).toHaveBeenCalledTimes(2);
    uas[1].emit('registrationFailed', { response: { status_code: 403 }, cause: 'Rejected' });
    await vi.waitFor(() => expect(c.snapshot.reg).toBe('failed'));
    expect(uas.length).toBe(2);
  });

  it('never dials a number the dial rules refuse, and says why', async () => {
    const s = await registered();
    (s.api.previewNumber as any).mockResolvedValueOnce({ refused: 'international calls are not allowed', refused_code: 'direction_not_allowed' });
    await s.c.dial('810 44 20 7946 0000');
    expect(s.uas[0].dialled).toHaveLength(0);
    expect(s.c.snapshot.call).toMatchObject({ state: 'ended', reason: 'international calls are not allowed' });
  });

  it('dials an accepted number with a client reference header and follows the call', async () => {
    const s = await registered();
    await s.c.dial('(495) 123-45-67');
    expect(s.api.previewNumber).toHaveBeenCalledWith('4951234567');
    const d = s.uas[0].dialled[0];
    expect(d.target).toBe('sip:4951234567@callbase');
    expect(d.opts.extraHeaders).toContain('X-CB-Ref: ref-1');
    expect(typeof d.opts.eventHandlers.peerconnection).toBe('function');
    // The session interval the server gave (RFC 4028 session timers, sessionTimers.ts).
    expect(d.opts.sessionTimersExpires).toBe(600);
    // TURN with this session's credentials (issue #22, item 7).
    expect(d.opts.pcConfig.iceServers).toEqual([{ urls: ['turn:10.0.0.9:3478?transport=tcp'], username: '99:t1-u5', credential: 'c' }]);
    d.session.emit('progress');
    expect(s.c.snapshot.call?.state).toBe('ringing');
    s.c.onServerEvent({ type: 'call', client_ref: 'ref-1', call_id: 'call-9', state: 'ringing', direction: 'outbound', number: '4951234567', at: '2026-12-03T10:00:00Z', user_ids: [1] });
    expect(s.c.snapshot.call?.callId).toBe('call-9');
    s.c.onServerEvent({ type: 'call', client_ref: 'other', call_id: 'call-x', state: 'ringing', direction: 'outbound', number: '4951234567', at: '2026-12-03T10:00:00Z', user_ids: [1] });
    expect(s.c.snapshot.call?.callId).toBe('call-9');
    d.session.emit('accepted');
    expect(s.c.snapshot.call?.state).toBe('answered');

    s.c.toggleMute();
    s.c.toggleHold();
    s.c.dtmf('5');
    s.c.dtmf('x');
    expect(d.session.calls).toEqual(['mute', 'hold', 'dtmf:5:RFC2833']);
    expect(s.c.snapshot.call).toMatchObject({ muted: true, held: true });
    s.c.toggleHold();
    expect(s.c.snapshot.call?.held).toBe(false);

    expect(await s.c.transfer('102')).toBeNull();
    expect(s.api.transfer).toHaveBeenCalledWith('call-9', '102');

    s.c.hangup();
    expect(s.c.snapshot.call?.state).toBe('ended');
    expect(s.c.snapshot.recent[0]).toMatchObject({ number: '4951234567', direction: 'outbound', answered: true });
  });

  it('dials a CRM reference as it is (no dial-rule preview: the server resolves it), even while an ended call still shows', async () => {
    const s = await registered();
    await s.c.dial('4951234567');
    s.uas[0].dialled[0].session.emit('accepted');
    s.c.hangup();
    expect(s.c.snapshot.call?.state).toBe('ended');
    await s.c.dial('crm12x5', 'Anna Petrova');
    expect(s.uas[0].dialled[1].target).toBe('sip:crm12x5@callbase');
    expect(s.api.previewNumber).toHaveBeenCalledTimes(1);
    expect(s.c.snapshot.call).toMatchObject({ number: 'Anna Petrova', state: 'dialing' });
    // A running call is not interrupted by another click.
    await s.c.dial('crm13x5', 'Boris');
    expect(s.uas[0].dialled).toHaveLength(2);
  });

  it('rings for an incoming call, answers, and turns a second call away as busy', async () => {
    const s = await registered();
    const session = new FakeSession();
    s.uas[0].emit('newRTCSession', {
      originator: 'remote',
      session,
      request: { from: { uri: { user: '+79161234567' }, display_name: 'Client' }, getHeader: (h: string) => ({ 'X-CB-Call': 'call-7', 'X-CB-Did': '74950001122' } as Record<string, string>)[h] },
    });
    expect(s.c.snapshot.call).toMatchObject({ direction: 'inbound', state: 'incoming', number: '+79161234567', name: 'Client', callId: 'call-7', did: '74950001122' });
    expect(s.rings).toEqual([true]);
    // The INVITE names the line (DID) the call came in on (X-CB-Did), and so does the server's news
    // of the call; another call's does not count.
    const ringing = { type: 'call' as const, state: 'ringing' as const, direction: 'inbound', number: '+79161234567', trunk: 1, user_id: null, client_ref: null, reason: null, target: null, at: '', user_ids: [] as number[] };
    s.c.onServerEvent({ ...ringing, call_id: 'call-8', did: '+74950000001' });
    expect(s.c.snapshot.call?.did).toBe('74950001122');
    s.c.onServerEvent({ ...ringing, call_id: 'call-7', did: '+74951112233' });
    expect(s.c.snapshot.call?.did).toBe('+74951112233');
    const second = new FakeSession();
    s.uas[0].emit('newRTCSession', { originator: 'remote', session: second, request: { from: { uri: { user: '1' } } } });
    expect(second.calls).toEqual(['terminate:486']);
    s.c.answer();
    expect(s.c.snapshot.call?.state).toBe('answered');
    expect(s.rings.at(-1)).toBe(false);
  });

  it('pauses and resumes the recording of the call it is in, where the tenant allows it, and says why when refused', async () => {
    const s = await registered();
    expect(s.c.snapshot.pauseAllowed).toBe(true);
    const session = new FakeSession();
    s.uas[0].emit('newRTCSession', {
      originator: 'remote',
      session,
      request: { from: { uri: { user: '+79161234567' } }, getHeader: (h: string) => (h === 'X-CB-Call' ? 'call-7' : undefined) },
    });
    expect(await s.c.toggleRecordingPause()).toBe('no call');
    s.c.answer();
    expect(session.answerOpts.sessionTimersExpires).toBe(600);
    expect(session.answerOpts.pcConfig.iceServers[0].username).toBe('99:t1-u5');
    expect(await s.c.toggleRecordingPause()).toBeNull();
    expect(s.api.pauseRecording).toHaveBeenLastCalledWith('call-7', true);
    expect(s.c.snapshot.call?.recordingPaused).toBe(true);
    expect(await s.c.toggleRecordingPause()).toBeNull();
    expect(s.api.pauseRecording).toHaveBeenLastCalledWith('call-7', false);
    expect(s.c.snapshot.call?.recordingPaused).toBe(false);
    (s.api.pauseRecording as ReturnType<typeof vi.fn>).mockRejectedValueOnce(new Error('your administrator does not allow pausing recordings'));
    expect(await s.c.toggleRecordingPause()).toContain('does not allow');
    expect(s.c.snapshot.call?.recordingPaused).toBe(false);
  });

  it('consults a colleague while the caller waits, follows the server through it and goes back or completes', async () => {
    const s = await registered();
    const session = new FakeSession();
    s.uas[0].emit('newRTCSession', {
      originator: 'remote',
      session,
      request: { from: { uri: { user: '+79161234567' } }, getHeader: (h: string) => (h === 'X-CB-Call' ? 'call-7' : undefined) },
    });
    expect(await s.c.consult('103')).toBe('nothing to transfer');
    s.c.answer();
    s.c.toggleHold();
    expect(await s.c.consult('103')).toBe('take the call off hold first');
    s.c.toggleHold();
    expect(await s.c.endConsult(true)).toBe('no consultation');
    expect(await s.c.consult('103')).toBeNull();
    expect(s.api.consult).toHaveBeenCalledWith('call-7', '103');
    const ev = (state: string, extra: Record<string, unknown> = {}) =>
      s.c.onServerEvent({ type: 'call', call_id: 'call-7', state, direction: 'inbound', number: '+79161234567', at: '2026-12-05T10:00:00Z', user_ids: [1], ...extra } as any);
    ev('consulting', { target: '103' });
    expect(s.c.snapshot.call?.consult).toEqual({ target: '103', connected: false });
    ev('consulted', { target: '103' });
    expect(s.c.snapshot.call?.consult).toEqual({ target: '103', connected: true });
    expect(await s.c.consult('104')).toBe('nothing to transfer');
    expect(await s.c.endConsult(false)).toBeNull();
    expect(s.api.endConsult).toHaveBeenLastCalledWith('call-7', false);
    ev('consult_ended', { reason: 'returned' });
    expect(s.c.snapshot.call).toMatchObject({ state: 'answered', consult: undefined, consultNote: 'returned' });
    (s.api.consult as ReturnType<typeof vi.fn>).mockRejectedValueOnce(new Error('Sofia has no phone online: the caller stays with you'));
    expect(await s.c.consult('103')).toContain('stays with you');
    ev('consulted', { target: '103' });
    expect(s.c.snapshot.call?.consultNote).toBeUndefined();
    expect(await s.c.endConsult(true)).toBeNull();
    expect(s.api.endConsult).toHaveBeenLastCalledWith('call-7', true);
  });

  it('parks the call it is in, says where, and picks a parked call up by dialling its slot', async () => {
    const s = await registered();
    const session = new FakeSession();
    s.uas[0].emit('newRTCSession', {
      originator: 'remote',
      session,
      request: { from: { uri: { user: '+79161234567' } }, getHeader: (h: string) => (h === 'X-CB-Call' ? 'call-7' : undefined) },
    });
    expect(await s.c.park()).toBe('nothing to park');
    s.c.answer();
    expect(await s.c.park()).toBeNull();
    expect(s.api.park).toHaveBeenCalledWith('call-7');
    s.c.onServerEvent({ type: 'call', call_id: 'call-7', state: 'parked', direction: 'inbound', number: '+79161234567', target: '3', at: '2026-12-05T10:00:00Z', user_ids: [1] } as any);
    expect(s.c.snapshot.call?.parkedSlot).toBe(3);
    s.c.hangup();
    s.c.dismiss();
    await s.c.dial('*83', 'Anna Petrova');
    expect(s.uas[0].dialled.at(-1)!.target).toBe('sip:*83@callbase');
    expect(s.api.previewNumber).not.toHaveBeenCalledWith('*83');
  });

  it('declines an incoming call with 603', async () => {
    const s = await registered();
    const session = new FakeSession();
    s.uas[0].emit('newRTCSession', { originator: 'remote', session, request: { from: { uri: { user: '5' } } } });
    s.c.decline();
    expect(session.calls).toEqual(['terminate:603']);
    expect(s.c.snapshot.call?.state).toBe('ended');
  });

  it('does not call while unregistered', async () => {
    const { c, uas } = setup();
    await c.dial('123');
    expect(uas).toHaveLength(0);
    expect(c.snapshot.call?.reason).toMatch(/not registered/);
  });

  it('stops cleanly (another tab takes the phone)', async () => {
    const s = await registered();
    s.c.stop();
    expect(s.uas[0].stopped).toBe(true);
    expect(s.c.snapshot.reg).toBe('off');
  });
});

describe('helpers', () => {
  it('builds same-origin WebSocket URLs', () => {
    expect(sameOriginWs('/sip', { protocol: 'https:', host: 'app.example' })).toBe('wss://app.example/sip');
    expect(sameOriginWs('/sip', { protocol: 'http:', host: '127.0.0.1:8080' })).toBe('ws://127.0.0.1:8080/sip');
  });
  it('keeps only what a SIP URI can carry', () => {
    expect(cleanNumber(' +7 (495) 123-45-67 ')).toBe('+74951234567');
  });
});
