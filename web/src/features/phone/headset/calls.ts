/**
 * What a headset's buttons mean for the phone, and what its lights show. Pure: input reports and
 * the phone's state in, phone actions and output reports out (the adapter in `link.ts` does the
 * WebHID calls).
 *
 * - Hook switch: a headset reports its hook state (1 = off hook) and follows the Off-Hook light
 *   the phone sets. Going off hook while a call rings answers it; going on hook during a call
 *   hangs up. A relative hook switch reports presses instead: a press answers or hangs up.
 * - Phone Mute, Flash (hold/resume), Drop (hang up), Line Busy Tone (reject a ringing call,
 *   Jabra's reject button) and Redial act on a press: each 1 of a relative control, a 0 → 1 of an
 *   absolute button. A latching mute switch (absolute, no preferred state) sets the mute state.
 * - Lights: Off-Hook while a call is up (dialling or talking), Ring (and the Telephony Ringer
 *   output) while a call rings, Mute with the phone's mute, Hold while held.
 *
 * Echo: a headset answers the Off-Hook light with a hook switch report of the same value (the app
 * answers → Off-Hook 1 → the headset reports hook 1). A report that only confirms the value the
 * phone set, soon after ({@link ECHO_MS}), is not a press; nor is one of the old value sent before
 * the headset caught up. And a press the phone has not confirmed yet keeps its light for a
 * few seconds ({@link PENDING_MS}): the answer takes a moment, and sending "ringing" lights
 * meanwhile would put the headset back on hook.
 */
import type { PhoneSnapshot } from '../types';
import { buildOutputs, fieldOf, parseInput, type Control, type HeadsetLayout, type Light, type OutputReport } from './layout';

export type HeadsetAction = 'answer' | 'decline' | 'hangup' | 'toggleMute' | 'toggleHold' | 'redial';

/** The phone as the headset sees it. `outgoing`: checking, dialling or ringing out. */
export type CallPhase = 'idle' | 'incoming' | 'outgoing' | 'active';

export interface PhoneView {
  phase: CallPhase;
  muted: boolean;
  held: boolean;
}

export type Lights = Record<Light, boolean>;

/** How long lights follow a press the phone has not confirmed yet. */
export const PENDING_MS = 5000;
/**
 * How long after a change of the Off-Hook light a hook report of that value is its echo (headsets
 * answer within tens of milliseconds; later, the same move is the user's press).
 */
export const ECHO_MS = 1500;

export function phoneView(s: Pick<PhoneSnapshot, 'call'>): PhoneView {
  const c = s.call;
  if (!c || c.state === 'ended') return { phase: 'idle', muted: false, held: false };
  const phase: CallPhase = c.state === 'incoming' ? 'incoming' : c.state === 'answered' ? 'active' : 'outgoing';
  return { phase, muted: phase === 'active' && c.muted, held: phase === 'active' && c.held };
}

export function lightsFor(v: PhoneView): Lights {
  const ringing = v.phase === 'incoming';
  return { offHook: v.phase === 'outgoing' || v.phase === 'active', ring: ringing, ringer: ringing, mute: v.muted, hold: v.held };
}

/** The lights an action will lead to, shown before the phone confirms it. */
function predicted(a: HeadsetAction, v: PhoneView): Partial<Lights> {
  switch (a) {
    case 'answer':
      return { offHook: true, ring: false, ringer: false };
    case 'decline':
    case 'hangup':
      return { offHook: false, ring: false, ringer: false, mute: false, hold: false };
    case 'toggleMute':
      return { mute: !v.muted };
    case 'toggleHold':
      return { hold: !v.held };
    case 'redial':
      return { offHook: true };
  }
}

export class HeadsetCalls {
  /** Last value of each absolute control. */
  private last: Partial<Record<Control, number>> = {};
  /** The hook state the headset last reported (undefined: none yet). */
  private hook: boolean | undefined;
  /** The Off-Hook light as last sent, and whether the headset has yet to confirm it. */
  private sentOffHook = false;
  /** Until when a hook report of the value sent is taken as the headset following the light. */
  private echoUntil = 0;
  private sentKey: string | null = null;
  private pending: { lights: Partial<Lights>; until: number; phase: CallPhase } | null = null;

  constructor(
    private readonly layout: HeadsetLayout,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** The actions an input report asks for, given the phone as it is. */
  onInput(reportId: number, data: DataView, view: PhoneView): HeadsetAction[] {
    const values = parseInput(this.layout, reportId, data);
    const out: HeadsetAction[] = [];
    const add = (a: HeadsetAction | null) => a && !out.includes(a) && out.push(a);
    if (values.hookSwitch !== undefined) add(this.hookSwitch(reportId, values.hookSwitch !== 0, view));
    if (values.phoneMute !== undefined) {
      const f = fieldOf(this.layout, 'phoneMute', reportId);
      if (f?.latching) {
        const on = values.phoneMute !== 0;
        const changed = (this.last.phoneMute ?? 0) !== values.phoneMute;
        this.last.phoneMute = values.phoneMute;
        if (changed && view.phase === 'active' && on !== view.muted) add('toggleMute');
      } else if (this.pressed('phoneMute', reportId, values.phoneMute) && view.phase === 'active') {
        add('toggleMute');
      }
    }
    if (this.pressed('flash', reportId, values.flash) && view.phase === 'active') add('toggleHold');
    if (this.pressed('drop', reportId, values.drop)) add(view.phase === 'incoming' ? 'decline' : view.phase === 'idle' ? null : 'hangup');
    if (this.pressed('lineBusyTone', reportId, values.lineBusyTone) && view.phase === 'incoming') add('decline');
    if (this.pressed('redial', reportId, values.redial) && view.phase === 'idle') add('redial');
    if (out.length) {
      const lights = Object.assign({}, ...out.map((a) => predicted(a, view))) as Partial<Lights>;
      this.pending = { lights, until: this.now() + PENDING_MS, phase: view.phase };
    }
    return out;
  }

  /** A press: each non-zero report of a relative control, a 0 → non-zero of an absolute one. */
  private pressed(c: Control, reportId: number, v: number | undefined): boolean {
    if (v === undefined) return false;
    if (fieldOf(this.layout, c, reportId)?.relative) return v !== 0;
    const before = this.last[c] ?? 0;
    this.last[c] = v;
    return v !== 0 && before === 0;
  }

  private hookSwitch(reportId: number, offHook: boolean, view: PhoneView): HeadsetAction | null {
    if (fieldOf(this.layout, 'hookSwitch', reportId)?.relative) {
      if (!offHook) return null;
      return view.phase === 'incoming' ? 'answer' : view.phase === 'idle' ? null : 'hangup';
    }
    if (this.now() < this.echoUntil) {
      // Right after the Off-Hook light changed: the headset following it, or a report it sent
      // before it caught up — not a press either way.
      if (offHook === this.sentOffHook) this.echoUntil = 0;
      this.hook = offHook;
      return null;
    }
    const before = this.hook ?? this.sentOffHook;
    this.hook = offHook;
    if (offHook === before) return null;
    // A ringing call is answered by either move: a headset out of step (left off hook) needs
    // one press, not two.
    if (view.phase === 'incoming') return 'answer';
    if (!offHook && view.phase !== 'idle') return 'hangup';
    return null;
  }

  /** The lights now: the phone's state, with a press not yet confirmed on top. */
  lights(view: PhoneView): Lights {
    const base = lightsFor(view);
    const p = this.pending;
    if (!p) return base;
    const entries = Object.entries(p.lights) as [Light, boolean][];
    // Confirmed, timed out, or the call went another way (the caller hung up meanwhile).
    const confirmed = entries.every(([k, v]) => base[k] === v);
    if (confirmed || this.now() >= p.until || view.phase !== p.phase) {
      this.pending = null;
      return base;
    }
    return { ...base, ...p.lights };
  }

  /** When the unconfirmed press stops counting (the adapter sends the lights again then). */
  get pendingUntil(): number | null {
    return this.pending?.until ?? null;
  }

  /**
   * The output reports that show the phone's state: none when the lights are as last sent,
   * unless `force` (after a press, the headset may have changed its own lights).
   */
  outputs(view: PhoneView, force = false): OutputReport[] {
    const lights = this.lights(view);
    const key = JSON.stringify(lights);
    if (!force && key === this.sentKey) return [];
    this.sentKey = key;
    if (lights.offHook !== this.sentOffHook) {
      this.sentOffHook = lights.offHook;
      this.echoUntil = this.hook !== lights.offHook ? this.now() + ECHO_MS : 0;
    }
    return buildOutputs(this.layout, lights);
  }

  /** Lights off (the phone stops, the headset is unpaired). */
  off(): OutputReport[] {
    this.sentKey = null;
    return buildOutputs(this.layout, {});
  }
}
