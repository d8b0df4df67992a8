/**
 * The parts of WebHID the headset code uses (https://wicg.github.io/webhid/), declared here: the
 * DOM library of TypeScript has no WebHID, and `@types/w3c-web-hid` is not among our packages.
 * Every field is optional where a browser may leave it out, so tests build devices by hand.
 *
 * Usages are "extended" as Chromium gives them: the usage page in the high 16 bits and the usage
 * id in the low 16 (the LED page's Off-Hook is 0x0008_0017).
 */

export interface HidReportItem {
  isAbsolute?: boolean;
  isArray?: boolean;
  isConstant?: boolean;
  isRange?: boolean;
  hasPreferredState?: boolean;
  usages?: number[];
  usageMinimum?: number;
  usageMaximum?: number;
  reportSize: number;
  reportCount: number;
  logicalMinimum?: number;
  logicalMaximum?: number;
}

export interface HidReportInfo {
  reportId: number;
  items?: HidReportItem[];
}

export interface HidCollection {
  usagePage?: number;
  usage?: number;
  type?: number;
  children?: HidCollection[];
  inputReports?: HidReportInfo[];
  outputReports?: HidReportInfo[];
  featureReports?: HidReportInfo[];
}

export interface HidInputReportEvent extends Event {
  readonly device: HidDeviceLike;
  readonly reportId: number;
  readonly data: DataView;
}

export interface HidDeviceLike extends EventTarget {
  readonly opened: boolean;
  readonly vendorId: number;
  readonly productId: number;
  readonly productName: string;
  readonly collections: HidCollection[];
  open(): Promise<void>;
  close(): Promise<void>;
  /** Revokes the permission (Chromium 100+). */
  forget?(): Promise<void>;
  sendReport(reportId: number, data: BufferSource): Promise<void>;
}

export interface HidConnectionEvent extends Event {
  readonly device: HidDeviceLike;
}

export interface HidLike extends EventTarget {
  getDevices(): Promise<HidDeviceLike[]>;
  requestDevice(options: { filters: { vendorId?: number; productId?: number; usagePage?: number; usage?: number }[] }): Promise<HidDeviceLike[]>;
}

/** `navigator.hid` where the browser has it (Chromium), else undefined (Firefox, Safari). */
export function browserHid(): HidLike | undefined {
  if (typeof navigator === 'undefined') return undefined;
  return (navigator as Navigator & { hid?: HidLike }).hid;
}

/** HID Usage Tables 1.5, section 4 (LED page) and 14 (Telephony Device page). */
export const PAGE_LED = 0x08;
export const PAGE_TELEPHONY = 0x0b;

export const usage = (page: number, id: number) => ((page << 16) | id) >>> 0;

/** Telephony page inputs: the call-control buttons. */
export const TEL = {
  hookSwitch: usage(PAGE_TELEPHONY, 0x20),
  flash: usage(PAGE_TELEPHONY, 0x21),
  redial: usage(PAGE_TELEPHONY, 0x24),
  drop: usage(PAGE_TELEPHONY, 0x26),
  phoneMute: usage(PAGE_TELEPHONY, 0x2f),
  lineBusyTone: usage(PAGE_TELEPHONY, 0x97),
  /** An output on some headsets (Jabra): rings the headset itself. */
  ringer: usage(PAGE_TELEPHONY, 0x9e),
} as const;

/** LED page outputs a headset shows call state with. */
export const LED = {
  mute: usage(PAGE_LED, 0x09),
  offHook: usage(PAGE_LED, 0x17),
  ring: usage(PAGE_LED, 0x18),
  hold: usage(PAGE_LED, 0x20),
} as const;
