/**
 * Headset descriptors for tests, as WebHID shows them (`HIDDevice.collections`), built from the
 * HID Usage Tables 1.5 (Telephony page 0x0B, LED page 0x08, Consumer page 0x0C); and stand-ins for
 * `navigator.hid`, a device and the phone.
 */
import type { CallInfo, PhoneSnapshot } from '../types';
import { LED, TEL, usage, type HidCollection, type HidDeviceLike, type HidLike, type HidReportItem } from './hid';
import type { PhoneLike } from './link';

const bit = (u: number, more: Partial<HidReportItem> = {}): HidReportItem => ({
  usages: [u],
  reportSize: 1,
  reportCount: 1,
  logicalMinimum: 0,
  logicalMaximum: 1,
  isAbsolute: true,
  hasPreferredState: true,
  ...more,
});
const pad = (bits: number): HidReportItem => ({ isConstant: true, reportSize: 1, reportCount: bits });

/**
 * (a) Jabra / Plantronics style. Telephony Headset collection; input report 2 = Hook Switch
 * (absolute, no preferred state: a switch that follows the Off-Hook light), Phone Mute
 * (relative: each report with it set is one press), Line Busy Tone (the reject button), 5 bits
 * of padding. Output report 3 = LEDs Off-Hook, Mute, Ring (one item of three usages), LED
 * Microphone (not used by the phone), Hold, the Telephony Ringer, 2 bits of padding. Beside it a
 * Consumer Control collection (volume, report 1) the phone leaves alone.
 */
export const jabraStyle: HidCollection[] = [
  {
    usagePage: 0x0c,
    usage: 0x01,
    type: 1,
    inputReports: [{ reportId: 1, items: [{ usages: [usage(0x0c, 0xe9), usage(0x0c, 0xea)], reportSize: 1, reportCount: 2 }, pad(6)] }],
  },
  {
    usagePage: 0x0b,
    usage: 0x05,
    type: 1,
    inputReports: [
      {
        reportId: 2,
        items: [
          bit(TEL.hookSwitch, { hasPreferredState: false }),
          bit(TEL.phoneMute, { isAbsolute: false }),
          bit(TEL.lineBusyTone),
          pad(5),
        ],
      },
    ],
    outputReports: [
      {
        reportId: 3,
        items: [
          { usages: [LED.offHook, LED.mute, LED.ring], reportSize: 1, reportCount: 3, logicalMinimum: 0, logicalMaximum: 1, isAbsolute: true },
          bit(usage(0x08, 0x21)),
          bit(LED.hold),
          bit(TEL.ringer),
          pad(2),
        ],
      },
    ],
  },
];

/**
 * (b) Another vendor's order (EPOS / Yealink style): one Telephony collection whose input report 5
 * starts with the Consumer volume keys, then — in a nested logical collection — Hook Switch and
 * Flash as a usage range (0x20–0x21, absolute buttons), Phone Mute relative, padding. Output
 * report 4 starts with a vendor byte, then Off-Hook and Ring as a usage range (0x17–0x18), Mute,
 * padding: the LEDs sit in the second byte.
 */
export const rangeStyle: HidCollection[] = [
  {
    usagePage: 0x0b,
    usage: 0x05,
    type: 1,
    inputReports: [{ reportId: 5, items: [{ usages: [usage(0x0c, 0xe9), usage(0x0c, 0xea)], reportSize: 1, reportCount: 2, isAbsolute: true }] }],
    outputReports: [
      {
        reportId: 4,
        items: [
          { usages: [usage(0xff30, 0x01)], reportSize: 8, reportCount: 1 },
          { isRange: true, usageMinimum: LED.offHook, usageMaximum: LED.ring, reportSize: 1, reportCount: 2, isAbsolute: true },
          bit(LED.mute),
          pad(5),
        ],
      },
    ],
    children: [
      {
        usagePage: 0x0b,
        usage: 0x05,
        type: 2,
        inputReports: [
          {
            reportId: 5,
            items: [
              { isRange: true, usageMinimum: TEL.hookSwitch, usageMaximum: TEL.flash, reportSize: 1, reportCount: 2, isAbsolute: true, hasPreferredState: true },
              bit(TEL.phoneMute, { isAbsolute: false }),
              pad(3),
            ],
          },
        ],
      },
    ],
  },
];

/** A keyboard: Generic Desktop collection with the Num/Caps Lock LEDs; no telephony. */
export const keyboard: HidCollection[] = [
  {
    usagePage: 0x01,
    usage: 0x06,
    type: 1,
    inputReports: [{ reportId: 0, items: [{ isRange: true, usageMinimum: usage(0x07, 0xe0), usageMaximum: usage(0x07, 0xe7), reportSize: 1, reportCount: 8 }] }],
    outputReports: [{ reportId: 0, items: [{ isRange: true, usageMinimum: usage(0x08, 0x01), usageMaximum: usage(0x08, 0x05), reportSize: 1, reportCount: 5 }, pad(3)] }],
  },
];

/** A report's data (after the id) with these bits set. */
export function report(bytes: number, ...bits: number[]): DataView {
  const a = new Uint8Array(bytes);
  for (const b of bits) a[b >> 3]! |= 1 << (b & 7);
  return new DataView(a.buffer);
}

/** A WebHID device that records what the page sends it. */
export class FakeDevice extends EventTarget implements HidDeviceLike {
  opened = false;
  forgotten = false;
  sent: [number, number[]][] = [];
  constructor(
    readonly productName: string,
    readonly collections: HidCollection[],
    readonly vendorId = 0x0b0e,
    readonly productId = 0x0300,
  ) {
    super();
  }
  async open() {
    this.opened = true;
  }
  async close() {
    this.opened = false;
  }
  async forget() {
    this.forgotten = true;
  }
  async sendReport(reportId: number, data: BufferSource) {
    this.sent.push([reportId, [...new Uint8Array(data as ArrayBuffer)]]);
  }
  press(reportId: number, ...bits: number[]) {
    this.dispatchEvent(Object.assign(new Event('inputreport'), { device: this, reportId, data: report(1, ...bits) }));
  }
}

/** `navigator.hid` with the devices granted earlier and the one the chooser returns. */
export class FakeHid extends EventTarget implements HidLike {
  requested: unknown[] = [];
  constructor(
    public granted: FakeDevice[] = [],
    public chosen: FakeDevice[] = [],
  ) {
    super();
  }
  async getDevices() {
    return this.granted.filter((d) => !d.forgotten);
  }
  async requestDevice(opts: unknown) {
    this.requested.push(opts);
    this.granted.push(...this.chosen);
    return this.chosen;
  }
  plug(kind: 'connect' | 'disconnect', device: FakeDevice) {
    this.dispatchEvent(Object.assign(new Event(kind), { device }));
  }
}

/** The phone: its snapshot is set by the test; actions are recorded. */
export class FakePhone implements PhoneLike {
  snapshot: PhoneSnapshot = { reg: 'registered', call: null, recent: [{ number: '5551234', direction: 'outbound', at: 0, answered: true }] };
  did: string[] = [];
  private fns = new Set<(s: PhoneSnapshot) => void>();
  subscribe(fn: (s: PhoneSnapshot) => void) {
    this.fns.add(fn);
    fn(this.snapshot);
    return () => this.fns.delete(fn);
  }
  set(patch: Partial<PhoneSnapshot>) {
    this.snapshot = { ...this.snapshot, ...patch };
    for (const f of this.fns) f(this.snapshot);
  }
  call(state: CallInfo['state'], more: Partial<CallInfo> = {}) {
    this.set({ call: { direction: 'inbound', number: '100', state, startedAt: 0, muted: false, held: false, ...more } });
  }
  answer = () => this.did.push('answer');
  decline = () => this.did.push('decline');
  hangup = () => this.did.push('hangup');
  toggleMute = () => this.did.push('toggleMute');
  toggleHold = () => this.did.push('toggleHold');
  dial = async (n: string) => void this.did.push(`dial ${n}`);
}
