/**
 * Where a headset's call-control buttons and lights sit in its HID reports, read from the report
 * descriptor as WebHID gives it (`HIDDevice.collections`); then reading input reports and writing
 * output reports with it. Pure: no `navigator.hid`, so tests feed collections built from the HID
 * Usage Tables.
 *
 * Written by hand: there is no well-kept library that does this. The WebHID telephony code out
 * there is either a demo or part of a product (Jitsi, vendor SDKs that each know one brand's
 * reports); this follows the HID 1.11 rules instead, so any headset that declares the Telephony
 * page works.
 *
 * How fields are placed (HID 1.11, 6.2.2): a report's items follow one another in descriptor
 * order, each `reportCount` fields of `reportSize` bits, least significant bit first; a report
 * with an id carries it in front, which WebHID strips (input `data` and `sendReport` data start
 * after it). A variable item's field i has usage i of its list (the last one repeats) or
 * usageMinimum + i of its range; a constant item is padding; an array item's fields each hold
 * the index of a usage that is on. WebHID lists a nested collection's items in that collection,
 * so a report's items are gathered parent first, then children in order — the descriptor order
 * for every headset layout we know of.
 */
import { LED, PAGE_TELEPHONY, TEL, usage, type HidCollection, type HidReportInfo, type HidReportItem } from './hid';

export type Control = keyof typeof TEL;
export type Light = keyof typeof LED | 'ringer';

/** One variable field: a button or switch with its own bits. */
export interface InputField {
  control: Control;
  reportId: number;
  /** Bit offset in the report's data (after the report id). */
  offset: number;
  size: number;
  /** A relative control reports events (1 = pressed once), an absolute one its state. */
  relative: boolean;
  /**
   * An absolute control with no preferred state (HID 1.11, 6.2.2.5) stays where it is put: a
   * switch whose value is its state. One with a preferred state is a button that springs back.
   */
  latching: boolean;
  signed: boolean;
}

/** An array item: `count` slots, each holding the index of a usage that is on (buttons held). */
export interface ArrayInput {
  reportId: number;
  offset: number;
  size: number;
  count: number;
  signed: boolean;
  /** Slot value → the control it names. */
  controls: Map<number, Control>;
}

export interface OutputField {
  light: Light;
  reportId: number;
  offset: number;
  size: number;
}

export interface HeadsetLayout {
  inputs: InputField[];
  arrays: ArrayInput[];
  outputs: OutputField[];
  /** Output report id → its length in bytes (without the id). */
  outputBytes: Map<number, number>;
}

const CONTROL_BY_USAGE = new Map<number, Control>(Object.entries(TEL).filter(([k]) => k !== 'ringer').map(([k, u]) => [u, k as Control]));
const LIGHT_BY_USAGE = new Map<number, Light>([...Object.entries(LED).map(([k, u]) => [u, k as Light] as const), [TEL.ringer, 'ringer']]);

/** A usage with its page: WebHID gives extended usages; a bare id takes the collection's page. */
const extended = (u: number, page: number) => (u > 0xffff ? u >>> 0 : usage(page, u));

/** The usage of field `i` of a variable item, if any. */
function usageAt(item: HidReportItem, i: number, page: number): number | undefined {
  if (item.isRange) {
    if (item.usageMinimum === undefined) return undefined;
    const min = extended(item.usageMinimum, page);
    const max = extended(item.usageMaximum ?? item.usageMinimum, page);
    return Math.min(min + i, max);
  }
  const list = item.usages ?? [];
  if (!list.length) return undefined;
  return extended(list[Math.min(i, list.length - 1)]!, page);
}

/** Each report's items in descriptor order, over a collection and its children. */
function gather(c: HidCollection, kind: 'inputReports' | 'outputReports', into: Map<number, HidReportItem[]>) {
  for (const r of (c[kind] ?? []) as HidReportInfo[]) {
    const list = into.get(r.reportId) ?? [];
    list.push(...(r.items ?? []));
    into.set(r.reportId, list);
  }
  for (const child of c.children ?? []) gather(child, kind, into);
}

/**
 * The call-control layout of a device, or null when it is not a call-control headset (no
 * Telephony page collection with a hook switch, mute, flash or drop button).
 */
export function describeHeadset(collections: readonly HidCollection[]): HeadsetLayout | null {
  const layout: HeadsetLayout = { inputs: [], arrays: [], outputs: [], outputBytes: new Map() };
  for (const top of collections) {
    if (top.usagePage !== PAGE_TELEPHONY) continue;
    const inputs = new Map<number, HidReportItem[]>();
    const outputs = new Map<number, HidReportItem[]>();
    gather(top, 'inputReports', inputs);
    gather(top, 'outputReports', outputs);
    for (const [reportId, items] of inputs) readInputs(reportId, items, layout);
    for (const [reportId, items] of outputs) readOutputs(reportId, items, layout);
  }
  if (!layout.inputs.length && !layout.arrays.length) return null;
  return layout;
}

function readInputs(reportId: number, items: HidReportItem[], layout: HeadsetLayout) {
  let offset = 0;
  for (const item of items) {
    const { reportSize: size, reportCount: count } = item;
    const signed = (item.logicalMinimum ?? 0) < 0;
    if (item.isConstant) {
      // padding
    } else if (item.isArray) {
      const controls = new Map<number, Control>();
      const first = item.logicalMinimum ?? 0;
      const last = item.logicalMaximum ?? first + (item.isRange ? (item.usageMaximum ?? 0) - (item.usageMinimum ?? 0) : (item.usages?.length ?? 1) - 1);
      for (let v = first; v <= last && v - first < 256; v++) {
        if (!item.isRange && v - first >= (item.usages?.length ?? 0)) break;
        const u = usageAt(item, v - first, PAGE_TELEPHONY);
        const control = u === undefined ? undefined : CONTROL_BY_USAGE.get(u);
        if (control) controls.set(v, control);
      }
      if (controls.size) layout.arrays.push({ reportId, offset, size, count, signed, controls });
    } else {
      for (let i = 0; i < count; i++) {
        const u = usageAt(item, i, PAGE_TELEPHONY);
        const control = u === undefined ? undefined : CONTROL_BY_USAGE.get(u);
        if (!control) continue;
        const relative = item.isAbsolute === false;
        layout.inputs.push({ control, reportId, offset: offset + i * size, size, relative, latching: !relative && item.hasPreferredState === false, signed });
      }
    }
    offset += size * count;
  }
}

function readOutputs(reportId: number, items: HidReportItem[], layout: HeadsetLayout) {
  let offset = 0;
  let found = false;
  for (const item of items) {
    const { reportSize: size, reportCount: count } = item;
    if (!item.isConstant && !item.isArray) {
      for (let i = 0; i < count; i++) {
        const u = usageAt(item, i, PAGE_TELEPHONY);
        const light = u === undefined ? undefined : LIGHT_BY_USAGE.get(u);
        if (light) {
          layout.outputs.push({ light, reportId, offset: offset + i * size, size });
          found = true;
        }
      }
    }
    offset += size * count;
  }
  if (found) layout.outputBytes.set(reportId, Math.ceil(offset / 8));
}

function readBits(data: DataView, offset: number, size: number, signed: boolean): number {
  let v = 0;
  for (let i = 0; i < Math.min(size, 32); i++) {
    const bit = offset + i;
    if (bit >> 3 >= data.byteLength) break;
    if ((data.getUint8(bit >> 3) >> (bit & 7)) & 1) v += 2 ** i;
  }
  if (signed && size < 32 && v >= 2 ** (size - 1)) v -= 2 ** size;
  return v;
}

function writeBits(out: Uint8Array, offset: number, size: number, value: number) {
  for (let i = 0; i < Math.min(size, 32); i++) {
    const bit = offset + i;
    if (bit >> 3 >= out.length) break;
    if (Math.floor(value / 2 ** i) % 2) out[bit >> 3]! |= 1 << (bit & 7);
    else out[bit >> 3]! &= ~(1 << (bit & 7));
  }
}

/** The controls an input report carries, with their values (a button of an array: 1 held, 0 not). */
export function parseInput(layout: HeadsetLayout, reportId: number, data: DataView): Partial<Record<Control, number>> {
  const out: Partial<Record<Control, number>> = {};
  for (const f of layout.inputs) {
    if (f.reportId === reportId) out[f.control] = readBits(data, f.offset, f.size, f.signed);
  }
  for (const a of layout.arrays) {
    if (a.reportId !== reportId) continue;
    for (const c of a.controls.values()) out[c] ??= 0;
    for (let i = 0; i < a.count; i++) {
      const c = a.controls.get(readBits(data, a.offset + i * a.size, a.size, a.signed));
      if (c) out[c] = 1;
    }
  }
  return out;
}

/** The variable field of a control in a report (undefined: the control is in an array, or absent). */
export function fieldOf(layout: HeadsetLayout, control: Control, reportId: number): InputField | undefined {
  return layout.inputs.find((f) => f.control === control && f.reportId === reportId);
}

export interface OutputReport {
  reportId: number;
  data: Uint8Array<ArrayBuffer>;
}

/** The output reports that set these lights (other fields of those reports are sent as 0). */
export function buildOutputs(layout: HeadsetLayout, lights: Partial<Record<Light, boolean>>): OutputReport[] {
  const out: OutputReport[] = [];
  for (const [reportId, bytes] of layout.outputBytes) {
    const data = new Uint8Array(bytes);
    for (const f of layout.outputs) {
      if (f.reportId === reportId) writeBits(data, f.offset, f.size, lights[f.light] ? 1 : 0);
    }
    out.push({ reportId, data });
  }
  return out;
}
