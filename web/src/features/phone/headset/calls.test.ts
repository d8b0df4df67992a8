import { describe, expect, it } from 'vitest';
import { ECHO_MS, HeadsetCalls, PENDING_MS, phoneView, type PhoneView } from './calls';
import { jabraStyle, rangeStyle, report } from './fixtures';
import { LED, TEL, type HidCollection } from './hid';
import { describeHeadset } from './layout';

const idle: PhoneView = { phase: 'idle', muted: false, held: false };
const ringing: PhoneView = { phase: 'incoming', muted: false, held: false };
const talking: PhoneView = { phase: 'active', muted: false, held: false };
const dialling: PhoneView = { phase: 'outgoing', muted: false, held: false };

function jabra(now = () => 0) {
  const calls = new HeadsetCalls(describeHeadset(jabraStyle)!, now);
  // Input report 2: bit 0 hook switch, 1 Phone Mute (relative), 2 Line Busy Tone.
  const input = (v: PhoneView, ...bits: number[]) => calls.onInput(2, report(1, ...bits), v);
  // Output report 3: the LED byte.
  const leds = (v: PhoneView, force = false) => calls.outputs(v, force).map((r) => r.data[0]);
  return { calls, input, leds };
}

describe('headset presses as phone actions (a: Jabra style)', () => {
  it('answers by going off hook while ringing, hangs up by going on hook', () => {
    const { input, leds } = jabra();
    expect(leds(ringing)).toEqual([0b100100]); // Ring + Ringer
    expect(input(ringing, 0)).toEqual(['answer']);
    // Until the phone confirms, the lights show the answer (not "ringing", which would put the
    // headset back on hook).
    expect(leds(ringing, true)).toEqual([0b000001]);
    expect(leds(talking)).toEqual([]); // the same lights: nothing to send
    expect(input(talking, 0)).toEqual([]); // still off hook: no change
    expect(input(talking)).toEqual(['hangup']);
    expect(input(idle)).toEqual([]);
  });

  it('does not loop on the hook switch echo of the Off-Hook light', () => {
    const { input, leds } = jabra();
    // Answered in the app: the phone lights Off-Hook and the headset follows with hook switch 1.
    expect(leds(ringing)).toEqual([0b100100]);
    expect(leds(talking)).toEqual([0b000001]);
    expect(input(talking, 0)).toEqual([]);
    // Hung up in the app and a new call rings before the headset's on-hook echo arrives.
    expect(leds(idle)).toEqual([0]);
    expect(leds(ringing)).toEqual([0b100100]);
    expect(input(ringing)).toEqual([]);
    // The echo was seen; a real press answers.
    expect(input(ringing, 0)).toEqual(['answer']);
  });

  it('takes a report sent before the headset caught up with the light for no press', () => {
    const { input, leds } = jabra();
    expect(leds(talking)).toEqual([0b000001]); // answered in the app
    expect(input(talking, 1)).toEqual(['toggleMute']); // still on hook in this report: no hang-up
    expect(input(talking, 0)).toEqual([]); // now it follows
    expect(input(talking)).toEqual(['hangup']);
  });

  it('answers a ringing call from a headset left off hook with one press', () => {
    let t = 0;
    const { input, leds } = jabra(() => t);
    leds(talking);
    input(talking, 0);
    leds(idle); // the caller hung up; this headset does not follow the light
    expect(input(idle, 0)).toEqual([]);
    t = ECHO_MS + 1;
    leds(ringing);
    expect(input(ringing)).toEqual(['answer']);
  });

  it('hangs up an outgoing call from the headset', () => {
    const { input, leds } = jabra();
    expect(leds(dialling)).toEqual([0b000001]);
    expect(input(dialling, 0)).toEqual([]); // the echo
    expect(input(dialling)).toEqual(['hangup']);
  });

  it('toggles mute on each relative Phone Mute report, in a call only; the Mute light follows', () => {
    const { input, leds } = jabra();
    leds(talking);
    input(talking, 0);
    expect(input(talking, 0, 1)).toEqual(['toggleMute']);
    expect(leds({ ...talking, muted: true })).toEqual([0b000011]);
    // Relative: a second report with the bit set is a second press.
    expect(input({ ...talking, muted: true }, 0, 1)).toEqual(['toggleMute']);
    expect(leds(talking)).toEqual([0b000001]);
    expect(input(idle, 1)).toEqual([]);
    expect(input(ringing, 1)).toEqual([]);
  });

  it('rejects a ringing call with Line Busy Tone', () => {
    const { input } = jabra();
    expect(input(ringing, 2)).toEqual(['decline']);
    expect(input(talking, 2)).toEqual([]); // still held down: not a new press
  });

  it('gives the lights back to the phone when a press is not confirmed in time', () => {
    let t = 0;
    const { input, leds } = jabra(() => t);
    leds(ringing);
    expect(input(ringing, 0)).toEqual(['answer']);
    expect(leds(ringing, true)).toEqual([0b000001]);
    t = PENDING_MS + 1;
    expect(leds(ringing)).toEqual([0b100100]);
  });
});

describe('headset presses as phone actions (b: usage ranges, Flash, relative mute)', () => {
  function range() {
    const calls = new HeadsetCalls(describeHeadset(rangeStyle)!, () => 0);
    // Input report 5: bit 2 hook switch, 3 Flash, 4 Phone Mute; output report 4, LEDs in byte 1.
    const input = (v: PhoneView, ...bits: number[]) => calls.onInput(5, report(1, ...bits), v);
    const leds = (v: PhoneView) => calls.outputs(v).map((r) => [...r.data]);
    return { input, leds };
  }

  it('answers, holds and resumes with Flash (an absolute button: one action per press), mutes, hangs up', () => {
    const { input, leds } = range();
    expect(leds(ringing)).toEqual([[0, 0b010]]);
    expect(input(ringing, 2)).toEqual(['answer']);
    expect(leds(talking)).toEqual([[0, 0b001]]);
    expect(input(talking, 2, 3)).toEqual(['toggleHold']);
    expect(input({ ...talking, held: true }, 2, 3)).toEqual([]); // still held down
    expect(input({ ...talking, held: true }, 2)).toEqual([]); // released
    expect(input({ ...talking, held: true }, 2, 3)).toEqual(['toggleHold']);
    expect(input(talking, 2, 4)).toEqual(['toggleMute']);
    expect(leds({ ...talking, muted: true })).toEqual([[0, 0b101]]);
    expect(input({ ...talking, muted: true }, 2)).toEqual([]); // the volume/mute bits cleared: nothing
    expect(input({ ...talking, muted: true }, 0)).toEqual(['hangup']); // volume up, hook off
  });

  it('ignores Flash and mute outside a call', () => {
    const { input } = range();
    expect(input(idle, 3, 4)).toEqual([]);
    expect(input(ringing, 4)).toEqual([]);
  });
});

describe('other kinds of controls', () => {
  const one = (u: number, more: object) => ({ usages: [u], reportSize: 1, reportCount: 1, ...more });
  const device = (...items: object[]): HidCollection[] => [
    {
      usagePage: 0x0b,
      inputReports: [{ reportId: 1, items: [...items, { isConstant: true, reportSize: 1, reportCount: 8 - items.length }] as never }],
      outputReports: [{ reportId: 1, items: [one(LED.offHook, {}), one(LED.mute, {}), { isConstant: true, reportSize: 1, reportCount: 6 }] as never }],
    },
  ];

  it('a relative hook switch: a press answers, the next hangs up', () => {
    const calls = new HeadsetCalls(describeHeadset(device(one(TEL.hookSwitch, { isAbsolute: false })))!, () => 0);
    expect(calls.onInput(1, report(1, 0), ringing)).toEqual(['answer']);
    expect(calls.onInput(1, report(1), talking)).toEqual([]);
    expect(calls.onInput(1, report(1, 0), talking)).toEqual(['hangup']);
    expect(calls.onInput(1, report(1, 0), idle)).toEqual([]);
  });

  it('a latching mute switch sets the mute state (its echo of the Mute light is no press)', () => {
    const calls = new HeadsetCalls(describeHeadset(device(one(TEL.phoneMute, { isAbsolute: true, hasPreferredState: false })))!, () => 0);
    expect(calls.onInput(1, report(1, 0), talking)).toEqual(['toggleMute']);
    expect(calls.onInput(1, report(1), { ...talking, muted: true })).toEqual(['toggleMute']);
    // Muted in the app: the light goes on and the switch follows; nothing to do.
    calls.outputs({ ...talking, muted: true });
    expect(calls.onInput(1, report(1, 0), { ...talking, muted: true })).toEqual([]);
  });

  it('Drop hangs up or rejects, Redial dials again when idle', () => {
    const calls = new HeadsetCalls(describeHeadset(device(one(TEL.drop, { isAbsolute: false }), one(TEL.redial, { isAbsolute: false })))!, () => 0);
    expect(calls.onInput(1, report(1, 0), talking)).toEqual(['hangup']);
    expect(calls.onInput(1, report(1, 0), ringing)).toEqual(['decline']);
    expect(calls.onInput(1, report(1, 1), idle)).toEqual(['redial']);
    expect(calls.onInput(1, report(1, 1), talking)).toEqual([]);
  });
});

describe('the phone as the headset sees it', () => {
  const call = (state: string, muted = false, held = false) => ({ call: { direction: 'inbound', number: '1', state, startedAt: 0, muted, held } }) as never;
  it('maps the call states', () => {
    expect(phoneView({ call: null })).toEqual(idle);
    expect(phoneView(call('incoming'))).toEqual(ringing);
    expect(phoneView(call('dialing'))).toEqual(dialling);
    expect(phoneView(call('checking'))).toEqual(dialling);
    expect(phoneView(call('answered', true, true))).toEqual({ phase: 'active', muted: true, held: true });
    expect(phoneView(call('ended', true))).toEqual(idle);
  });
});
