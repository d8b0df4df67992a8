/**
 * One phone across tabs: several "tabs" in one test, each a real PhoneController over a fake JsSIP
 * UA, joined by a fake BroadcastChannel bus and a fake Web Locks manager that behave like the
 * browser's (asynchronous delivery, structured clone, FIFO queue, steal, release on close).
 */
import { describe, expect, it, vi } from 'vitest';
import { PhoneController, type PhoneApi } from './controller';
import { FakeSession, FakeUA } from './fakeSip';
import { TabPhone, type ChannelLike, type LockOpts, type LocksLike, type PhoneView } from './tabPhone';
import { envelope, execute, initialMirror, mirror, parse, scopeName, type OwnerPhone, type Scope } from './tabs';

class FakeChannel implements ChannelLike {
  onmessage: ((ev: MessageEvent) => void) | null = null;
  closed = false;
  constructor(
    private readonly bus: FakeBus,
    readonly name: string,
  ) {}
  postMessage(m: unknown) {
    if (this.closed) throw new Error('InvalidStateError: the channel is closed');
    this.bus.deliver(this, m);
  }
  close() {
    this.closed = true;
  }
}

/** BroadcastChannel: every other open channel of the same name gets a copy, later. */
class FakeBus {
  private readonly channels: FakeChannel[] = [];
  sent: unknown[] = [];
  channel(name: string): FakeChannel {
    const c = new FakeChannel(this, name);
    this.channels.push(c);
    return c;
  }
  deliver(from: FakeChannel, m: unknown) {
    this.sent.push(m);
    for (const c of this.channels) {
      if (c === from || c.closed || c.name !== from.name) continue;
      const copy = structuredClone(m);
      setTimeout(() => !c.closed && c.onmessage?.({ data: copy } as MessageEvent), 0);
    }
  }
}

interface Req {
  tab: string;
  cb: (lock: Lock | null) => unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

/** The browser's LockManager, exclusive locks only, per tab. */
class FakeLocks {
  private readonly holders = new Map<string, Req>();
  private readonly queues = new Map<string, Req[]>();
  forTab(tab: string): LocksLike {
    return { request: (name, opts, cb) => this.request(tab, name, opts, cb) };
  }
  holder(name: string): string | undefined {
    return this.holders.get(name)?.tab;
  }
  private request(tab: string, name: string, opts: LockOpts, cb: Req['cb']): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const req: Req = { tab, cb, resolve, reject };
      const q = this.queues.get(name) ?? [];
      this.queues.set(name, q);
      if (opts.steal) {
        const h = this.holders.get(name);
        this.holders.delete(name);
        h?.reject(new DOMException('the lock was stolen', 'AbortError'));
        this.grant(name, req);
      } else if (this.holders.has(name) || q.length) {
        if (opts.ifAvailable) {
          Promise.resolve()
            .then(() => cb(null))
            .then(resolve, reject);
          return;
        }
        q.push(req);
        opts.signal?.addEventListener('abort', () => {
          const now = this.queues.get(name) ?? [];
          if (!now.includes(req)) return;
          this.queues.set(name, now.filter((r) => r !== req));
          reject(new DOMException('aborted', 'AbortError'));
        });
      } else {
        this.grant(name, req);
      }
    });
  }
  private grant(name: string, req: Req) {
    this.holders.set(name, req);
    const done = (ok: boolean, v: unknown) => {
      if (this.holders.get(name) !== req) return; // stolen: its promise was rejected then
      this.holders.delete(name);
      (ok ? req.resolve : req.reject)(v);
      this.next(name);
    };
    Promise.resolve()
      .then(() => req.cb({ name, mode: 'exclusive' } as Lock))
      .then(
        (v) => done(true, v),
        (e) => done(false, e),
      );
  }
  private next(name: string) {
    const r = this.queues.get(name)?.shift();
    if (r) this.grant(name, r);
  }
  /** The tab closes or crashes: the browser drops its requests and releases its locks. */
  close(tab: string) {
    for (const [name, q] of this.queues) this.queues.set(name, q.filter((r) => r.tab !== tab));
    for (const [name, h] of [...this.holders]) {
      if (h.tab !== tab) continue;
      this.holders.delete(name);
      this.next(name);
    }
  }
}

const SCOPE: Scope = { tenant: 1, user: 5 };

function phone() {
  const uas: FakeUA[] = [];
  const api: PhoneApi = {
    phoneSession: vi.fn(async () => ({
      ws_path: '/sip',
      uri: 'sip:t1-w5@callbase',
      authorization_user: 't1-w5',
      password: 'secret',
      display_name: 'Anna',
      extension: '101',
      ice_servers: [],
      recording_pause_allowed: false,
      session_expires: 1800,
    })),
    phoneStatus: vi.fn(async () => ({ registered: true })),
    previewNumber: vi.fn(async () => ({ refused: null })),
    transfer: vi.fn(async () => undefined),
    consult: vi.fn(async () => undefined),
    endConsult: vi.fn(async () => undefined),
    park: vi.fn(async () => undefined),
    pauseRecording: vi.fn(async () => undefined),
  };
  let clock = 1_000_000;
  const c = new PhoneController({
    api,
    createUA: () => {
      const ua = new FakeUA();
      uas.push(ua);
      return ua;
    },
    sleep: async () => undefined,
    now: () => (clock += 1000),
    uuid: () => 'ref-1',
  });
  return { c, uas, api };
}

type Tab = ReturnType<typeof phone> & { tp: TabPhone; id: string; views: PhoneView[]; readonly view: PhoneView };

interface Browser {
  bus: FakeBus;
  locks: FakeLocks;
}

function browser(): Browser {
  return { bus: new FakeBus(), locks: new FakeLocks() };
}

function openTab(b: Browser, id: string, scope: Scope = SCOPE, opts: { channel?: boolean; locks?: boolean } = {}): Tab {
  const p = phone();
  const tp = new TabPhone({
    scope,
    tabId: id,
    phone: p.c,
    channel: opts.channel === false ? null : b.bus.channel(scopeName(scope)),
    locks: opts.locks === false ? null : b.locks.forTab(id),
    commandTimeoutMs: 300,
    noAnswer: () => 'no answer',
  });
  const views: PhoneView[] = [];
  tp.subscribe((v) => views.push(v));
  tp.start();
  return {
    ...p,
    tp,
    id,
    views,
    get view() {
      return tp.view;
    },
  };
}

/** The owner's UA reports a REGISTER's 200; the server confirms. */
async function registerOwner(t: Tab, ua = 0) {
  await vi.waitFor(() => expect(t.uas.length).toBeGreaterThan(ua));
  t.uas[ua].emit('registered');
  await vi.waitFor(() => expect(t.c.snapshot.reg).toBe('registered'));
}

function ring(t: Tab, ua = 0): FakeSession {
  const session = new FakeSession();
  t.uas[ua].emit('newRTCSession', {
    originator: 'remote',
    session,
    request: {
      from: { uri: { user: '79161234567' }, display_name: 'Ivan Petrov' },
      getHeader: (h: string) => ({ 'X-CB-Call': '77', 'X-CB-Did': '4957770001' })[h],
    },
  });
  return session;
}

/** Two tabs of one user: A opened first owns the phone, B follows. */
async function twoTabs() {
  const b = browser();
  const a = openTab(b, 'A');
  await vi.waitFor(() => expect(a.view.role).toBe('owner'));
  const f = openTab(b, 'B');
  await vi.waitFor(() => expect(f.view.role).toBe('follower'));
  await registerOwner(a);
  await vi.waitFor(() => expect(f.view.snap.reg).toBe('registered'));
  return { b, a, f };
}

describe('one phone across tabs', () => {
  it('the first tab runs the phone; the second mirrors it without a SIP connection of its own', async () => {
    const { a, f } = await twoTabs();
    expect(a.uas).toHaveLength(1);
    expect(f.uas).toHaveLength(0);
    expect(f.api.phoneSession).not.toHaveBeenCalled();
    expect(f.view).toMatchObject({ role: 'follower', mirrored: true, snap: { reg: 'registered', extension: '101' } });
    expect(a.tp.lockName).toBe('callbase-phone-1-5');
  });

  it('an inbound call rings in both tabs; answering in the follower answers in the owner, timers alike', async () => {
    const { a, f } = await twoTabs();
    const session = ring(a);
    await vi.waitFor(() => expect(f.view.snap.call?.state).toBe('incoming'));
    expect(f.view.snap.call).toMatchObject({ number: '79161234567', name: 'Ivan Petrov', did: '4957770001', callId: '77' });
    f.tp.controls.answer();
    await vi.waitFor(() => expect(session.calls).toEqual(['answer']));
    await vi.waitFor(() => expect(f.view.snap.call?.state).toBe('answered'));
    expect(f.view.snap.call?.answeredAt).toBe(a.c.snapshot.call?.answeredAt);
    expect(f.view.snap.call?.answeredAt).toBeTypeOf('number');
  });

  it('mute, hold, DTMF and hang-up from the follower run on the owner', async () => {
    const { a, f } = await twoTabs();
    const session = ring(a);
    a.c.answer();
    await vi.waitFor(() => expect(f.view.snap.call?.state).toBe('answered'));
    f.tp.controls.toggleMute();
    await vi.waitFor(() => expect(f.view.snap.call?.muted).toBe(true));
    f.tp.controls.toggleHold();
    await vi.waitFor(() => expect(f.view.snap.call?.held).toBe(true));
    f.tp.controls.toggleHold();
    await vi.waitFor(() => expect(f.view.snap.call?.held).toBe(false));
    f.tp.controls.dtmf('5');
    f.tp.controls.toggleMute();
    await vi.waitFor(() => expect(f.view.snap.call?.muted).toBe(false));
    f.tp.controls.hangup();
    await vi.waitFor(() => expect(f.view.snap.call?.state).toBe('ended'));
    expect(session.calls).toEqual(['answer', 'mute', 'hold', 'unhold', 'dtmf:5:RFC2833', 'unmute', 'terminate:']);
    expect(a.c.snapshot.call?.state).toBe('ended');
    f.tp.controls.dismiss();
    await vi.waitFor(() => expect(f.view.snap.call).toBeNull());
    expect(f.view.snap.recent).toHaveLength(1);
  });

  it('declines from the follower', async () => {
    const { a, f } = await twoTabs();
    const session = ring(a);
    await vi.waitFor(() => expect(f.view.snap.call?.state).toBe('incoming'));
    f.tp.controls.decline();
    await vi.waitFor(() => expect(session.calls).toEqual(['terminate:603']));
  });

  it('dials, transfers and gets the owner’s answer back in the follower', async () => {
    const { a, f } = await twoTabs();
    expect(await f.tp.controls.transfer('102')).toBe('nothing to transfer');
    await f.tp.controls.dial('+7 (495) 111-22-33');
    expect(a.uas[0].dialled.map((d) => d.target)).toEqual(['sip:+74951112233@callbase']);
    await vi.waitFor(() => expect(f.view.snap.call?.state).toBe('dialing'));
    a.c.onServerEvent({ type: 'call', call_id: '9', client_ref: 'ref-1', state: 'ringing' } as never);
    a.uas[0].dialled[0].session.emit('accepted');
    await vi.waitFor(() => expect(f.view.snap.call?.state).toBe('answered'));
    expect(await f.tp.controls.transfer('102')).toBeNull();
    expect(a.api.transfer).toHaveBeenCalledWith('9', '102');
  });

  it('a tab opened mid-call gets the current state at once', async () => {
    const { b, a } = await twoTabs();
    ring(a);
    a.c.answer();
    const late = openTab(b, 'C');
    await vi.waitFor(() => expect(late.view.snap.call?.state).toBe('answered'));
    expect(late.view).toMatchObject({ role: 'follower', mirrored: true });
    expect(late.view.snap.call?.answeredAt).toBe(a.c.snapshot.call?.answeredAt);
  });

  it('the owner tab closes: the follower takes the phone, registers, and rings for the next call', async () => {
    const { b, a, f } = await twoTabs();
    const third = openTab(b, 'C');
    await vi.waitFor(() => expect(third.view.snap.reg).toBe('registered'));
    a.tp.leave();
    await vi.waitFor(() => expect(third.view.snap.reg).toBe('connecting'));
    b.locks.close('A');
    (a.tp as unknown as { deps: { channel: FakeChannel } }).deps.channel.close();
    await vi.waitFor(() => expect(f.view.role).toBe('owner'));
    expect(f.api.phoneSession).toHaveBeenCalledTimes(1);
    await registerOwner(f);
    expect(f.view.snap.reg).toBe('registered');
    // The third tab (still in line) follows the new owner.
    await vi.waitFor(() => expect(third.view).toMatchObject({ role: 'follower', mirrored: true, snap: { reg: 'registered' } }));
    ring(f);
    await vi.waitFor(() => expect(third.view.snap.call?.state).toBe('incoming'));
    expect(f.view.snap.call?.state).toBe('incoming');
  });

  it('the owner tab crashes mid-call (no goodbye): the next tab takes over and the others follow it', async () => {
    const { b, a, f } = await twoTabs();
    const third = openTab(b, 'C');
    ring(a);
    await vi.waitFor(() => expect(third.view.snap.call?.state).toBe('incoming'));
    b.locks.close('A');
    (a.tp as unknown as { deps: { channel: FakeChannel } }).deps.channel.close();
    await vi.waitFor(() => expect(f.view.role).toBe('owner'));
    expect(f.view.snap.call).toBeNull();
    await vi.waitFor(() => expect(third.view.snap.call).toBeNull());
    await registerOwner(f);
    await vi.waitFor(() => expect(third.view.snap.reg).toBe('registered'));
  });

  it('"Move the phone here" moves it (not during a call); the old owner stops and follows', async () => {
    const { b, a, f } = await twoTabs();
    ring(a);
    await vi.waitFor(() => expect(f.view.snap.call?.state).toBe('incoming'));
    f.tp.moveHere();
    await new Promise((r) => setTimeout(r, 20));
    expect(a.view.role).toBe('owner');
    a.c.decline();
    await vi.waitFor(() => expect(f.view.snap.call?.state).toBe('ended'));
    f.tp.moveHere();
    await vi.waitFor(() => expect(f.view.role).toBe('owner'));
    await vi.waitFor(() => expect(a.view.role).toBe('follower'));
    expect(a.uas[0].stopped).toBe(true);
    expect(b.locks.holder('callbase-phone-1-5')).toBe('B');
    await registerOwner(f);
    await vi.waitFor(() => expect(a.view).toMatchObject({ mirrored: true, snap: { reg: 'registered' } }));
    // A waits in line again: closing B hands the phone back.
    b.locks.close('B');
    await vi.waitFor(() => expect(a.view.role).toBe('owner'));
    expect(a.uas).toHaveLength(2);
  });

  it('two users in one browser profile do not share a phone', async () => {
    const b = browser();
    const anna = openTab(b, 'A');
    const boris = openTab(b, 'B', { tenant: 1, user: 6 });
    const other = openTab(b, 'C', { tenant: 2, user: 5 });
    await vi.waitFor(() => expect([anna.view.role, boris.view.role, other.view.role]).toEqual(['owner', 'owner', 'owner']));
    await registerOwner(anna);
    ring(anna);
    await new Promise((r) => setTimeout(r, 20));
    expect(boris.view.snap.call).toBeNull();
    expect(other.view.snap.call).toBeNull();
  });

  it('a follower dispose()d or a dead owner: commands end with "no answer" instead of hanging', async () => {
    const b = browser();
    const a = openTab(b, 'A');
    await vi.waitFor(() => expect(a.view.role).toBe('owner'));
    // An owner of an older build: holds the lock, says nothing.
    (a.tp as unknown as { deps: { channel: FakeChannel } }).deps.channel.close();
    const f = openTab(b, 'B');
    await vi.waitFor(() => expect(f.view.role).toBe('follower'));
    expect(f.view).toMatchObject({ mirrored: false, snap: { reg: 'elsewhere' } });
    expect(await f.tp.controls.park()).toBe('no answer');
  });

  it('without Web Locks every tab runs its own phone, as before', async () => {
    const b = browser();
    const a = openTab(b, 'A', SCOPE, { locks: false });
    const f = openTab(b, 'B', SCOPE, { locks: false });
    expect([a.view.role, f.view.role]).toEqual(['solo', 'solo']);
    await registerOwner(a);
    await registerOwner(f);
  });

  it('Web Locks that refuse to work (SecurityError): every tab its own phone', async () => {
    const b = browser();
    const p = phone();
    const tp = new TabPhone({
      scope: SCOPE,
      tabId: 'A',
      phone: p.c,
      channel: b.bus.channel(scopeName(SCOPE)),
      locks: { request: () => Promise.reject(new DOMException('no locks here', 'SecurityError')) },
    });
    tp.start();
    await vi.waitFor(() => expect(tp.view.role).toBe('solo'));
    await vi.waitFor(() => expect(p.uas).toHaveLength(1));
  });

  it('with Web Locks but no BroadcastChannel the other tab says where the phone is and can move it', async () => {
    const b = browser();
    const a = openTab(b, 'A', SCOPE, { channel: false });
    await vi.waitFor(() => expect(a.view.role).toBe('owner'));
    const f = openTab(b, 'B', SCOPE, { channel: false });
    await vi.waitFor(() => expect(f.view).toMatchObject({ role: 'follower', mirrored: false, snap: { reg: 'elsewhere' } }));
    f.tp.moveHere();
    await vi.waitFor(() => expect(f.view.role).toBe('owner'));
    await vi.waitFor(() => expect(a.view.role).toBe('follower'));
  });

  it('dispose() of the owner (sign-out) stops its phone and hands the lock on', async () => {
    const { a, f } = await twoTabs();
    a.tp.dispose();
    expect(a.uas[0].stopped).toBe(true);
    await vi.waitFor(() => expect(f.view.role).toBe('owner'));
  });
});

describe('the tab protocol', () => {
  const scope = scopeName(SCOPE);
  const snap = { reg: 'registered' as const, call: null, recent: [] };

  it('takes only well-formed messages of its version and scope', () => {
    expect(parse(envelope(scope, 'A', { kind: 'hello' }), scope)).not.toBeNull();
    expect(parse({ ...envelope(scope, 'A', { kind: 'hello' }), v: 2 }, scope)).toBeNull();
    expect(parse(envelope('callbase-phone-1-6', 'A', { kind: 'hello' }), scope)).toBeNull();
    expect(parse(envelope(scope, 'A', { kind: 'cmd', id: '1', cmd: { op: 'dtmf', digit: '5' } }), scope)).not.toBeNull();
    expect(parse(envelope(scope, 'A', { kind: 'cmd', id: '1', cmd: { op: 'dtmf', digit: '55' } }), scope)).toBeNull();
    expect(parse({ ...envelope(scope, 'A', { kind: 'hello' }), kind: 'cmd', id: '1', cmd: { op: 'format-disk' } }, scope)).toBeNull();
    expect(parse({ ...envelope(scope, 'A', { kind: 'hello' }), kind: 'state', since: 1, snap: { reg: 'registered' } }, scope)).toBeNull();
    expect(parse('hello', scope)).toBeNull();
  });

  it('the follower keeps the newest owner and forgets the call of an owner that left', () => {
    let m = initialMirror();
    m = mirror(m, envelope(scope, 'B', { kind: 'state', snap, since: 20 }));
    expect(m.owner).toBe('B');
    const stale = mirror(m, envelope(scope, 'A', { kind: 'state', snap: { ...snap, reg: 'off' }, since: 10 }));
    expect(stale).toBe(m);
    const call = { direction: 'inbound' as const, number: '5', state: 'answered' as const, startedAt: 1, muted: false, held: false };
    m = mirror(m, envelope(scope, 'B', { kind: 'state', snap: { ...snap, call }, since: 20 }));
    expect(mirror(m, envelope(scope, 'A', { kind: 'bye' }))).toBe(m);
    m = mirror(m, envelope(scope, 'B', { kind: 'bye' }));
    expect(m).toMatchObject({ owner: null, snap: { reg: 'connecting', call: null } });
  });

  it('the owner’s handler: mute and hold say the wanted state, so a repeated click does not flip it back', async () => {
    const calls: string[] = [];
    const fake = {
      snapshot: { reg: 'registered', recent: [], call: { muted: false, held: true } },
      toggleMute: () => {
        calls.push('mute');
        fake.snapshot.call.muted = !fake.snapshot.call.muted;
      },
      toggleHold: () => calls.push('hold'),
      start: async () => void calls.push('start'),
    } as unknown as OwnerPhone & { snapshot: { call: { muted: boolean } } };
    await execute(fake, { op: 'mute', on: true });
    await execute(fake, { op: 'mute', on: true });
    await execute(fake, { op: 'hold', on: true });
    await execute(fake, { op: 'retry' });
    expect(calls).toEqual(['mute']);
  });
});
