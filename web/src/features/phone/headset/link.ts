/**
 * The paired headset of this page, over WebHID: pairing (the browser's chooser, filtered on the
 * Telephony usage page), re-opening the headset granted earlier when the page loads or the
 * headset is plugged back in, its button presses as phone actions and the phone's state on its
 * lights. WebHID exists in Chromium browsers only; elsewhere the link says `unsupported`.
 *
 * Only the tab that runs the phone drives the headset: a tab whose phone runs elsewhere closes it
 * (both tabs would otherwise get the presses and set the lights).
 */
import type { PhoneSnapshot } from '../types';
import { HeadsetCalls, phoneView, type HeadsetAction } from './calls';
import { PAGE_TELEPHONY, type HidConnectionEvent, type HidDeviceLike, type HidInputReportEvent, type HidLike } from './hid';
import { describeHeadset, type OutputReport } from './layout';

export type HeadsetStatus =
  | { kind: 'unsupported' }
  | { kind: 'none'; error?: 'notHeadset' | 'failed'; detail?: string }
  | { kind: 'paired'; name: string; connected: boolean };

/** What the link needs of the phone (the {@link PhoneController}). */
export interface PhoneLike {
  readonly snapshot: PhoneSnapshot;
  subscribe(fn: (s: PhoneSnapshot) => void): () => void;
  answer(): void;
  decline(): void;
  hangup(): void;
  toggleMute(): void;
  toggleHold(): void;
  dial(number: string): Promise<void>;
}

export interface LinkOptions {
  now?: () => number;
}

const nameOf = (d: HidDeviceLike) => d.productName || `USB ${d.vendorId.toString(16).padStart(4, '0')}:${d.productId.toString(16).padStart(4, '0')}`;
const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

export class HeadsetLink {
  private device: HidDeviceLike | null = null;
  private calls: HeadsetCalls | null = null;
  private state: HeadsetStatus;
  private listeners = new Set<(s: HeadsetStatus) => void>();
  private unsubscribe: () => void = () => undefined;
  private writes: Promise<void> = Promise.resolve();
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** The phone runs in another tab: the headset is closed here. */
  private elsewhere = false;
  private disposed = false;
  private readonly now: () => number;

  constructor(
    private readonly hid: HidLike | undefined,
    private readonly phone: PhoneLike,
    opts: LinkOptions = {},
  ) {
    this.now = opts.now ?? (() => Date.now());
    this.state = hid ? { kind: 'none' } : { kind: 'unsupported' };
    if (!hid) return;
    hid.addEventListener('connect', this.onConnect);
    hid.addEventListener('disconnect', this.onDisconnect);
    this.unsubscribe = phone.subscribe((s) => this.onPhone(s));
  }

  get status(): HeadsetStatus {
    return this.state;
  }

  onStatus(fn: (s: HeadsetStatus) => void): () => void {
    this.listeners.add(fn);
    fn(this.state);
    return () => this.listeners.delete(fn);
  }

  private set(s: HeadsetStatus) {
    this.state = s;
    for (const l of this.listeners) l(s);
  }

  /** Opens the headset granted earlier, if one is plugged in (on page load). */
  async restore(): Promise<void> {
    if (!this.hid || this.device || this.elsewhere) return;
    let granted: HidDeviceLike[];
    try {
      granted = await this.hid.getDevices();
    } catch {
      return;
    }
    const d = granted.find((x) => describeHeadset(x.collections));
    if (d && !this.device) await this.attach(d);
  }

  /** The browser's chooser (needs a click); a device without call-control buttons is refused. */
  async pair(): Promise<void> {
    if (!this.hid) return;
    let picked: HidDeviceLike[];
    try {
      picked = await this.hid.requestDevice({ filters: [{ usagePage: PAGE_TELEPHONY }] });
    } catch (e) {
      this.set({ kind: 'none', error: 'failed', detail: errorText(e) });
      return;
    }
    if (!picked.length) return;
    const d = picked.find((x) => describeHeadset(x.collections));
    if (!d) {
      this.set({ kind: 'none', error: 'notHeadset', detail: nameOf(picked[0]!) });
      return;
    }
    await this.attach(d);
  }

  /** Lights off, closed, and the browser forgets the permission. */
  async unpair(): Promise<void> {
    const d = this.device;
    await this.detach(true);
    this.set({ kind: 'none' });
    if (!this.hid) return;
    // A headset may show as several HID devices (one per interface): forget them all.
    const granted = await this.hid.getDevices().catch(() => [] as HidDeviceLike[]);
    for (const x of granted) {
      if (x === d || (d && x.vendorId === d.vendorId && x.productId === d.productId) || (!d && describeHeadset(x.collections))) {
        await x.forget?.().catch(() => undefined);
      }
    }
  }

  dispose(): void {
    this.disposed = true;
    this.unsubscribe();
    this.hid?.removeEventListener('connect', this.onConnect);
    this.hid?.removeEventListener('disconnect', this.onDisconnect);
    void this.detach(true);
    this.listeners.clear();
  }

  private async attach(d: HidDeviceLike): Promise<void> {
    const layout = describeHeadset(d.collections);
    if (!layout || this.disposed) return;
    if (this.device && this.device !== d) await this.detach(true);
    try {
      if (!d.opened) await d.open();
    } catch (e) {
      this.set({ kind: 'none', error: 'failed', detail: errorText(e) });
      return;
    }
    this.device = d;
    this.calls = new HeadsetCalls(layout, this.now);
    d.addEventListener('inputreport', this.onInput);
    this.set({ kind: 'paired', name: nameOf(d), connected: true });
    this.sync(true);
  }

  private async detach(lightsOff: boolean): Promise<void> {
    const d = this.device;
    const calls = this.calls;
    clearTimeout(this.timer);
    this.device = null;
    this.calls = null;
    if (!d) return;
    d.removeEventListener('inputreport', this.onInput);
    if (lightsOff && calls && d.opened) this.send(d, calls.off());
    await this.writes;
    await d.close().catch(() => undefined);
  }

  private onInput = (e: Event) => {
    const ev = e as HidInputReportEvent;
    if (!this.calls || ev.device !== this.device) return;
    const actions = this.calls.onInput(ev.reportId, ev.data, phoneView(this.phone.snapshot));
    for (const a of actions) this.run(a);
    // Also after a press the phone ignores: the headset may have moved its own lights.
    this.sync(true);
  };

  private run(a: HeadsetAction) {
    const p = this.phone;
    try {
      if (a === 'answer') p.answer();
      else if (a === 'decline') p.decline();
      else if (a === 'hangup') p.hangup();
      else if (a === 'toggleMute') p.toggleMute();
      else if (a === 'toggleHold') p.toggleHold();
      else {
        const last = p.snapshot.recent.find((r) => r.direction === 'outbound');
        if (last) void p.dial(last.number);
      }
    } catch {
      /* the phone refused (a call that just ended): the lights show how things are */
    }
  }

  private onPhone(s: PhoneSnapshot) {
    if (s.reg === 'elsewhere') {
      if (!this.elsewhere) {
        this.elsewhere = true;
        void this.detach(false);
      }
      return;
    }
    if (this.elsewhere) {
      this.elsewhere = false;
      void this.restore();
      return;
    }
    this.sync(false);
  }

  /** Sends the lights for the phone's state (if they changed, or `force`). */
  private sync(force: boolean) {
    const d = this.device;
    const calls = this.calls;
    if (!d || !calls) return;
    this.send(d, calls.outputs(phoneView(this.phone.snapshot), force));
    clearTimeout(this.timer);
    const until = calls.pendingUntil;
    // When an unconfirmed press stops counting, the lights go back to the phone's state.
    if (until !== null) this.timer = setTimeout(() => this.sync(false), Math.max(0, until - this.now()) + 20);
  }

  /** One write at a time, in order; a failed write is dropped (the next state change sends all lights again). */
  private send(d: HidDeviceLike, reports: OutputReport[]) {
    for (const r of reports) {
      this.writes = this.writes.then(() => d.sendReport(r.reportId, r.data).catch(() => undefined));
    }
  }

  private onConnect = (e: Event) => {
    const d = (e as HidConnectionEvent).device;
    const s = this.state;
    const waiting = s.kind === 'none' ? !s.error : s.kind === 'paired' && !s.connected;
    if (!this.device && waiting && !this.elsewhere) void this.attach(d);
  };

  private onDisconnect = (e: Event) => {
    const d = (e as HidConnectionEvent).device;
    if (d !== this.device) return;
    const name = nameOf(d);
    void this.detach(false);
    this.set({ kind: 'paired', name, connected: false });
  };
}
