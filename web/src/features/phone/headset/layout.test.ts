import { describe, expect, it } from 'vitest';
import { jabraStyle, keyboard, rangeStyle, report } from './fixtures';
import { TEL, usage } from './hid';
import { buildOutputs, describeHeadset, parseInput, type HeadsetLayout } from './layout';

const fields = (l: HeadsetLayout) => l.inputs.map(({ control, reportId, offset, relative, latching }) => ({ control, reportId, offset, relative, latching }));
const lights = (l: HeadsetLayout) => l.outputs.map(({ light, reportId, offset }) => `${light}@${reportId}:${offset}`);
const bytes = (l: HeadsetLayout, on: Parameters<typeof buildOutputs>[1]) => buildOutputs(l, on).map((r) => [r.reportId, [...r.data]]);

describe('the call-control layout of a headset', () => {
  it('(a) Jabra style: bit fields in item order, padding skipped, the consumer collection left out', () => {
    const l = describeHeadset(jabraStyle)!;
    expect(fields(l)).toEqual([
      { control: 'hookSwitch', reportId: 2, offset: 0, relative: false, latching: true },
      { control: 'phoneMute', reportId: 2, offset: 1, relative: true, latching: false },
      { control: 'lineBusyTone', reportId: 2, offset: 2, relative: false, latching: false },
    ]);
    // Three usages of one item, then the Microphone LED the phone does not drive.
    expect(lights(l)).toEqual(['offHook@3:0', 'mute@3:1', 'ring@3:2', 'hold@3:4', 'ringer@3:5']);
    expect([...l.outputBytes]).toEqual([[3, 1]]);
  });

  it('(b) usage ranges, a nested collection after its parent, LEDs in the second byte', () => {
    const l = describeHeadset(rangeStyle)!;
    expect(fields(l)).toEqual([
      { control: 'hookSwitch', reportId: 5, offset: 2, relative: false, latching: false },
      { control: 'flash', reportId: 5, offset: 3, relative: false, latching: false },
      { control: 'phoneMute', reportId: 5, offset: 4, relative: true, latching: false },
    ]);
    expect(lights(l)).toEqual(['offHook@4:8', 'ring@4:9', 'mute@4:10']);
    expect([...l.outputBytes]).toEqual([[4, 2]]);
  });

  it('reads input reports of either layout; another report id carries none of the controls', () => {
    const a = describeHeadset(jabraStyle)!;
    expect(parseInput(a, 2, report(1, 0))).toEqual({ hookSwitch: 1, phoneMute: 0, lineBusyTone: 0 });
    expect(parseInput(a, 2, report(1, 1, 2))).toEqual({ hookSwitch: 0, phoneMute: 1, lineBusyTone: 1 });
    expect(parseInput(a, 1, report(1, 0, 1))).toEqual({});
    const b = describeHeadset(rangeStyle)!;
    // Volume up (bit 0) is not a call control; hook switch is bit 2, Flash 3, Phone Mute 4.
    expect(parseInput(b, 5, report(1, 0, 2))).toEqual({ hookSwitch: 1, flash: 0, phoneMute: 0 });
    expect(parseInput(b, 5, report(1, 3, 4))).toEqual({ hookSwitch: 0, flash: 1, phoneMute: 1 });
    // A short report reads as zeros rather than failing.
    expect(parseInput(b, 5, report(0))).toEqual({ hookSwitch: 0, flash: 0, phoneMute: 0 });
  });

  it('builds LED output reports: in call, ringing, muted, on hold', () => {
    const a = describeHeadset(jabraStyle)!;
    expect(bytes(a, { offHook: true })).toEqual([[3, [0b000001]]]);
    expect(bytes(a, { ring: true, ringer: true })).toEqual([[3, [0b100100]]]);
    expect(bytes(a, { offHook: true, mute: true })).toEqual([[3, [0b000011]]]);
    expect(bytes(a, { offHook: true, hold: true })).toEqual([[3, [0b010001]]]);
    expect(bytes(a, {})).toEqual([[3, [0]]]);
    const b = describeHeadset(rangeStyle)!;
    expect(bytes(b, { offHook: true })).toEqual([[4, [0, 0b001]]]);
    expect(bytes(b, { ring: true, ringer: true })).toEqual([[4, [0, 0b010]]]);
    expect(bytes(b, { offHook: true, mute: true, hold: true })).toEqual([[4, [0, 0b101]]]);
  });

  it('reads buttons of an array item (each slot holds the index of a button held)', () => {
    const l = describeHeadset([
      {
        usagePage: 0x0b,
        usage: 0x05,
        inputReports: [
          {
            reportId: 0,
            items: [
              // Slot values 1..4 name Hook Switch, Flash, Redial, Drop; 0 is none.
              { isArray: true, usages: [TEL.hookSwitch, TEL.flash, TEL.redial, TEL.drop], logicalMinimum: 1, logicalMaximum: 4, reportSize: 8, reportCount: 2 },
            ],
          },
        ],
      },
    ])!;
    expect(l.arrays).toHaveLength(1);
    const slots = (a: number, b: number) => new DataView(new Uint8Array([a, b]).buffer);
    expect(parseInput(l, 0, slots(0, 0))).toEqual({ hookSwitch: 0, flash: 0, redial: 0, drop: 0 });
    expect(parseInput(l, 0, slots(4, 1))).toEqual({ hookSwitch: 1, flash: 0, redial: 0, drop: 1 });
  });

  it('takes bare usage ids as the Telephony page, and multi-bit signed fields', () => {
    const l = describeHeadset([
      {
        usagePage: 0x0b,
        inputReports: [{ reportId: 1, items: [{ usages: [0x2f], reportSize: 2, reportCount: 1, logicalMinimum: -1, logicalMaximum: 1, isAbsolute: false }, pad6()] }],
      },
    ])!;
    expect(parseInput(l, 1, new DataView(new Uint8Array([0b11]).buffer))).toEqual({ phoneMute: -1 });
    expect(parseInput(l, 1, new DataView(new Uint8Array([0b01]).buffer))).toEqual({ phoneMute: 1 });
  });

  it('is not a call-control headset: a keyboard, or a Telephony collection without call buttons', () => {
    expect(describeHeadset(keyboard)).toBeNull();
    expect(describeHeadset([])).toBeNull();
    const keypadOnly = [{ usagePage: 0x0b, usage: 0x05, inputReports: [{ reportId: 1, items: [{ isRange: true, usageMinimum: usage(0x0b, 0xb0), usageMaximum: usage(0x0b, 0xb9), reportSize: 1, reportCount: 10 }] }] }];
    expect(describeHeadset(keypadOnly)).toBeNull();
  });
});

function pad6() {
  return { isConstant: true, reportSize: 1, reportCount: 6 };
}
