/**
 * Every date, time and number the user sees is formatted here: in the locale of the UI language
 * (LANG_TAG: en → en-US, ru → ru-RU, zh → zh-CN), and instants in the tenant's time zone once the
 * app knows it (the session answer, `Me.tenant.time_zone`; the reports answers and business hours keep it current), else the browser's.
 * Durations (`1:05`, `mm:ss`) are not locale-dependent and stay in shared/ui/time.ts and their
 * features.
 */
import { getLang, LANG_TAG, type Lang } from './index';

let zone: string | undefined;
const zoneListeners = new Set<(zone: string | undefined) => void>();
const cache = new Map<string, Intl.DateTimeFormat | Intl.NumberFormat>();

/** Whether `tz` is an IANA zone this browser knows (an unknown one would make Intl throw). */
export function isKnownZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/**
 * Sets the tenant's time zone (undefined: the browser's). An unknown zone is ignored. Listeners
 * (the app, to re-render) hear only real changes.
 */
export function setTimeZone(tz: string | null | undefined): void {
  const next = tz && isKnownZone(tz) ? tz : undefined;
  if (next === zone) return;
  zone = next;
  for (const l of zoneListeners) l(zone);
}

/** The tenant's time zone, or undefined while the browser's is used. */
export function getTimeZone(): string | undefined {
  return zone;
}

export function onTimeZoneChange(listener: (zone: string | undefined) => void): () => void {
  zoneListeners.add(listener);
  return () => zoneListeners.delete(listener);
}

/** The locale of the UI language (or of `lang`). */
export function locale(lang: Lang = getLang()): string {
  return LANG_TAG[lang];
}

export type FormatOpts = { lang?: Lang; timeZone?: string };

function dtf(opts: Intl.DateTimeFormatOptions, o: FormatOpts = {}): Intl.DateTimeFormat {
  const loc = locale(o.lang);
  const tz = o.timeZone ?? zone;
  const key = `d|${loc}|${tz ?? ''}|${JSON.stringify(opts)}`;
  let f = cache.get(key) as Intl.DateTimeFormat | undefined;
  if (!f) {
    f = new Intl.DateTimeFormat(loc, tz ? { ...opts, timeZone: tz } : opts);
    cache.set(key, f);
  }
  return f;
}

type Instant = string | number | Date;

function toDate(v: Instant): Date | null {
  const d = v instanceof Date ? v : new Date(v);
  return Number.isNaN(d.getTime()) ? null : d;
}

/**
 * An instant as a short date and time: `12/2/26, 8:10 PM` (en), `02.12.2026, 20:10` (ru),
 * `2026/12/2 20:10` (zh); with `seconds`, the time has seconds. `—` for none or garbage.
 */
export function formatDateTime(v: Instant | null | undefined, o: FormatOpts & { seconds?: boolean } = {}): string {
  const d = v == null ? null : toDate(v);
  if (!d) return '—';
  return dtf({ dateStyle: 'short', timeStyle: o.seconds ? 'medium' : 'short' }, o).format(d);
}

/** An instant's time of day: `8:10 PM` / `20:10`; with `seconds`, `20:10:05`. */
export function formatTime(v: Instant | null | undefined, o: FormatOpts & { seconds?: boolean } = {}): string {
  const d = v == null ? null : toDate(v);
  if (!d) return '—';
  return dtf({ hour: '2-digit', minute: '2-digit', ...(o.seconds ? { second: '2-digit' } : {}) }, o).format(d);
}

/**
 * A calendar date (`YYYY-MM-DD`, a day with no time zone: a CRM date field, a report's first and
 * last day) in the UI language: `12/2/2026`, `02.12.2026`, `2026/12/2`. Not shifted by any zone.
 */
export function formatDay(ymd: string | null | undefined, o: { lang?: Lang } = {}): string {
  const m = ymd ? /^(\d{4})-(\d{2})-(\d{2})$/.exec(ymd) : null;
  if (!m) return ymd ?? '';
  const at = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return dtf({ year: 'numeric', month: 'numeric', day: 'numeric' }, { lang: o.lang, timeZone: 'UTC' }).format(at);
}

/** The short name of ISO weekday `d` (1 = Monday … 7 = Sunday). 2024-01-01 was a Monday. */
export function formatWeekday(d: number, o: { lang?: Lang } = {}): string {
  return dtf({ weekday: 'short' }, { lang: o.lang, timeZone: 'UTC' }).format(Date.UTC(2024, 0, d));
}

/** A number with the language's grouping and decimal signs: `1,234.5`, `1 234,5`, `1,234.5`. */
export function formatNumber(n: number, o: Intl.NumberFormatOptions & { lang?: Lang } = {}): string {
  const { lang, ...opts } = o;
  const loc = locale(lang);
  const key = `n|${loc}|${JSON.stringify(opts)}`;
  let f = cache.get(key) as Intl.NumberFormat | undefined;
  if (!f) {
    f = new Intl.NumberFormat(loc, opts);
    cache.set(key, f);
  }
  return f.format(n);
}
