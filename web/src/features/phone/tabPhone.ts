/**
 * One phone across tabs: which tab runs the phone, and what every tab shows and controls.
 *
 * The tabs of one tenant + user ask for the same Web Lock; the holder (owner) runs the phone (SIP
 * socket, registration, audio) and publishes its snapshot on a BroadcastChannel; the others
 * (followers) queue for the lock, mirror the snapshot and send their clicks to the owner as
 * commands (`tabs.ts`). The browser releases a closed or crashed tab's lock, so the next queued tab
 * becomes the owner and starts the phone. "Move the phone here" steals the lock.
 *
 * Without Web Locks every tab runs its own phone ("solo", as before this existed); with locks but
 * without BroadcastChannel a follower shows "runs in another tab" and can only move the phone.
 * Timers, channel and locks are injected, so the unit tests run two tabs over a fake bus.
 */
import {
  envelope,
  execute,
  initialMirror,
  mirror,
  parse,
  scopeName,
  type Body,
  type Command,
  type Mirror,
  type OwnerPhone,
  type Scope,
} from './tabs';
import type { PhoneSnapshot } from './types';

export type Role = 'solo' | 'owner' | 'follower';

export interface PhoneView {
  role: Role;
  snap: PhoneSnapshot;
  /** A follower that hears an owner (not an owner of another build, or none yet). */
  mirrored: boolean;
}

/** What the panel calls: the phone itself (owner, solo) or the owner through the channel (follower). */
export type PhoneControls = Omit<OwnerPhone, 'snapshot'>;

/** The phone this tab runs when it owns it (PhoneController). */
export interface LocalPhone extends OwnerPhone {
  subscribe(fn: (s: PhoneSnapshot) => void): () => void;
  stop(): void;
}

export interface ChannelLike {
  postMessage(m: unknown): void;
  onmessage: ((ev: MessageEvent) => void) | null;
  close(): void;
}

export interface LockOpts {
  ifAvailable?: boolean;
  steal?: boolean;
  signal?: AbortSignal;
}

/** The part of `navigator.locks` used here. */
export interface LocksLike {
  request(name: string, opts: LockOpts, cb: (lock: Lock | null) => unknown): Promise<unknown>;
}

export interface TabDeps {
  scope: Scope;
  tabId: string;
  phone: LocalPhone;
  channel: ChannelLike | null;
  locks: LocksLike | null;
  now?(): number;
  /** How long a follower waits for the owner's answer to a command. */
  commandTimeoutMs?: number;
  /** The words when the owner does not answer a command. */
  noAnswer?(): string;
}

export class TabPhone {
  private role: Role = 'follower';
  private m: Mirror = initialMirror();
  private readonly name: string;
  private readonly listeners = new Set<(v: PhoneView) => void>();
  private unsubPhone: (() => void) | null = null;
  private release: (() => void) | null = null;
  private queued: AbortController | null = null;
  /** Lock requests are numbered; `holding` is the one granted now (0: none). */
  private gen = 0;
  private holding = 0;
  private since = 0;
  private seq = 0;
  private readonly pending = new Map<string, (error: string | null) => void>();
  private disposed = false;
  private readonly now: () => number;
  /** The follower's controls: each click becomes a command to the owner. */
  readonly remote: PhoneControls;

  constructor(private readonly deps: TabDeps) {
    this.name = scopeName(deps.scope);
    this.now = deps.now ?? (() => Date.now());
    const fire = (cmd: Command) => void this.send(cmd);
    this.remote = {
      start: async () => void (await this.send({ op: 'retry' })),
      answer: () => fire({ op: 'answer' }),
      decline: () => fire({ op: 'decline' }),
      hangup: () => fire({ op: 'hangup' }),
      dismiss: () => fire({ op: 'dismiss' }),
      toggleMute: () => this.m.snap.call && fire({ op: 'mute', on: !this.m.snap.call.muted }),
      toggleHold: () => this.m.snap.call && fire({ op: 'hold', on: !this.m.snap.call.held }),
      dtmf: (digit) => fire({ op: 'dtmf', digit }),
      dial: async (target, label) => void (await this.send({ op: 'dial', target, label })),
      transfer: (target) => this.send({ op: 'transfer', target }),
      consult: (target) => this.send({ op: 'consult', target }),
      endConsult: (complete) => this.send({ op: 'endConsult', complete }),
      park: () => this.send({ op: 'park' }),
      toggleRecordingPause: () => this.send({ op: 'recPause' }),
    };
  }

  /** The lock's and channel's name (`callbase-phone-<tenant>-<user>`). */
  get lockName(): string {
    return this.name;
  }

  get view(): PhoneView {
    const follower = this.role === 'follower';
    return { role: this.role, snap: follower ? this.m.snap : this.deps.phone.snapshot, mirrored: follower && this.m.owner !== null };
  }

  /** The controls for this tab's role now. */
  get controls(): PhoneControls {
    return this.role === 'follower' ? this.remote : this.deps.phone;
  }

  subscribe(fn: (v: PhoneView) => void): () => void {
    this.listeners.add(fn);
    fn(this.view);
    return () => this.listeners.delete(fn);
  }

  private emit() {
    const v = this.view;
    for (const l of this.listeners) l(v);
  }

  /** Takes the phone if no other tab has it, else follows the tab that has. */
  start(): void {
    const { locks, channel } = this.deps;
    if (!locks) {
      this.solo();
      return;
    }
    if (channel) channel.onmessage = (ev) => this.onMessage(ev.data);
    this.ask({ ifAvailable: true });
  }

  /** Every tab its own phone (no Web Locks, or they refuse to work here). */
  private solo() {
    this.role = 'solo';
    this.unsubPhone = this.deps.phone.subscribe(() => this.emit());
    void this.deps.phone.start();
    this.emit();
  }

  private ask(opts: LockOpts) {
    const gen = ++this.gen;
    this.deps.locks!.request(this.name, opts, (lock) => {
      if (this.disposed) return undefined;
      if (!lock) {
        this.follow();
        this.queue();
        return undefined;
      }
      return this.own(gen);
    }).then(
      () => undefined,
      (e: unknown) => {
        // Stolen by a tab that moved the phone to itself; a queued request aborted (ours).
        if (this.holding === gen) this.demote();
        // Locks that refuse to work at all (SecurityError): as without them.
        else if ((e as { name?: string } | null)?.name !== 'AbortError' && this.role === 'follower' && !this.disposed) this.solo();
      },
    );
  }

  /** Waits in line for the lock: granted when the owner tab closes or crashes. */
  private queue() {
    const ac = new AbortController();
    this.queued = ac;
    this.ask({ signal: ac.signal });
  }

  private own(gen: number): Promise<void> {
    this.holding = gen;
    this.queued?.abort();
    this.queued = null;
    this.role = 'owner';
    this.since = this.now();
    this.failPending();
    this.unsubPhone = this.deps.phone.subscribe((s) => {
      this.post({ kind: 'state', snap: s, since: this.since });
      this.emit();
    });
    void this.deps.phone.start();
    return new Promise<void>((r) => (this.release = r));
  }

  /** Another tab took the phone: stop it here and follow that tab. */
  private demote() {
    this.holding = 0;
    this.unsubPhone?.();
    this.unsubPhone = null;
    this.release?.();
    this.release = null;
    this.deps.phone.stop();
    if (this.disposed) return;
    this.follow();
    this.queue();
  }

  private follow() {
    this.role = 'follower';
    this.m = initialMirror();
    this.post({ kind: 'hello' });
    this.emit();
  }

  /** Moves the phone to this tab (not while a call lives in the owner tab). */
  moveHere(): void {
    if (this.role !== 'follower' || !this.deps.locks || this.disposed) return;
    const c = this.m.snap.call;
    if (c && c.state !== 'ended') return;
    this.queued?.abort();
    this.queued = null;
    this.ask({ steal: true });
  }

  /** The page goes away for good: followers hear it before the lock passes on. */
  leave(): void {
    if (this.role === 'owner') this.post({ kind: 'bye' });
  }

  dispose(): void {
    if (this.disposed) return;
    this.leave();
    this.disposed = true;
    this.queued?.abort();
    this.queued = null;
    if (this.role !== 'follower') {
      this.holding = 0;
      this.unsubPhone?.();
      this.unsubPhone = null;
      this.release?.();
      this.release = null;
      this.deps.phone.stop();
    }
    this.failPending();
    if (this.deps.channel) this.deps.channel.onmessage = null;
    this.deps.channel?.close();
    this.listeners.clear();
  }

  private post(body: Body) {
    try {
      this.deps.channel?.postMessage(envelope(this.name, this.deps.tabId, body));
    } catch {
      /* the channel is closed: the page is going away */
    }
  }

  private onMessage(data: unknown) {
    const msg = parse(data, this.name);
    if (!msg || msg.from === this.deps.tabId || this.disposed) return;
    if (this.role === 'owner') {
      if (msg.kind === 'hello') this.post({ kind: 'state', snap: this.deps.phone.snapshot, since: this.since });
      if (msg.kind === 'cmd') {
        const reply = (error: string | null) => this.post({ kind: 'result', id: msg.id, to: msg.from, error });
        execute(this.deps.phone, msg.cmd).then(reply, (e) => reply(e instanceof Error ? e.message : String(e)));
      }
      return;
    }
    if (this.role !== 'follower') return;
    if (msg.kind === 'result') {
      if (msg.to === this.deps.tabId) this.pending.get(msg.id)?.(msg.error);
      return;
    }
    const next = mirror(this.m, msg);
    if (next !== this.m) {
      this.m = next;
      this.emit();
    }
  }

  /** Sends a command to the owner; its error in words, or null. */
  private send(cmd: Command): Promise<string | null> {
    const id = `${this.deps.tabId}:${++this.seq}`;
    const noAnswer = this.deps.noAnswer?.() ?? 'the tab with the phone does not answer';
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(noAnswer), this.deps.commandTimeoutMs ?? 5000);
      const done = (error: string | null) => {
        clearTimeout(timer);
        this.pending.delete(id);
        resolve(error);
      };
      this.pending.set(id, done);
      this.post({ kind: 'cmd', id, cmd });
    });
  }

  /** Commands sent while following get no answer once this tab is no longer a follower. */
  private failPending() {
    const noAnswer = this.deps.noAnswer?.() ?? 'the tab with the phone does not answer';
    for (const done of [...this.pending.values()]) done(noAnswer);
  }
}
