import { afterEach, describe, expect, it } from 'vitest';
import { setLang } from './index';
import {
  formatDateTime,
  formatDay,
  formatNumber,
  formatTime,
  formatWeekday,
  getTimeZone,
  onTimeZoneChange,
  setTimeZone,
} from './format';

/** Intl separates groups and time from day period with (narrow) no-break spaces: compare with plain ones. */
const plain = (s: string) => s.replace(/[\u00a0\u202f]/g, ' ');

// 2026-12-02 17:10:05 UTC: 20:10 in Moscow, 01:10 the next day in Shanghai.
const AT = '2026-12-02T17:10:05Z';

afterEach(() => {
  setLang('en');
  setTimeZone(undefined);
});

describe('dates and times follow the UI language and the time zone', () => {
  const cases: [lang: 'en' | 'ru' | 'zh', zone: string, dateTime: string, time: string][] = [
    ['en', 'Europe/Moscow', '12/2/26, 8:10 PM', '08:10 PM'],
    ['ru', 'Europe/Moscow', '02.12.2026, 20:10', '20:10'],
    ['zh', 'Europe/Moscow', '2026/12/2 20:10', '20:10'],
    ['en', 'Asia/Shanghai', '12/3/26, 1:10 AM', '01:10 AM'],
    ['ru', 'Asia/Shanghai', '03.12.2026, 01:10', '01:10'],
    ['zh', 'Asia/Shanghai', '2026/12/3 01:10', '01:10'],
  ];
  it.each(cases)('%s in %s', (lang, zone, dateTime, time) => {
    setLang(lang);
    setTimeZone(zone);
    expect(plain(formatDateTime(AT))).toBe(dateTime);
    expect(plain(formatTime(AT))).toBe(time);
  });

  it('the Russian UI no longer shows the US format (the bug of issue #22)', () => {
    setLang('ru');
    setTimeZone('Europe/Moscow');
    expect(formatDateTime(AT)).not.toMatch(/PM|AM|\//);
  });

  it('gives seconds when asked', () => {
    setLang('ru');
    setTimeZone('Europe/Moscow');
    expect(plain(formatDateTime(AT, { seconds: true }))).toBe('02.12.2026, 20:10:05');
    expect(plain(formatTime(AT, { seconds: true }))).toBe('20:10:05');
  });

  it('takes a language and zone per call too', () => {
    expect(plain(formatDateTime(AT, { lang: 'zh', timeZone: 'UTC' }))).toBe('2026/12/2 17:10');
  });

  it('shows a dash for no time or a broken one', () => {
    expect(formatDateTime(null)).toBe('—');
    expect(formatDateTime('not a time')).toBe('—');
    expect(formatTime(undefined)).toBe('—');
  });
});

describe('the tenant time zone', () => {
  it('is used once set, ignores unknown zones and tells listeners of changes only', () => {
    const seen: (string | undefined)[] = [];
    const off = onTimeZoneChange((z) => seen.push(z));
    setTimeZone('Asia/Shanghai');
    setTimeZone('Asia/Shanghai');
    setTimeZone('Mars/Olympus_Mons');
    off();
    expect(seen).toEqual(['Asia/Shanghai', undefined]);
    expect(getTimeZone()).toBeUndefined();
  });

  it('falls back to the browser zone when none is known', () => {
    setLang('ru');
    const browser = new Intl.DateTimeFormat('ru-RU', { dateStyle: 'short', timeStyle: 'short' }).format(new Date(AT));
    expect(formatDateTime(AT)).toBe(browser);
  });
});

describe('calendar days and weekdays are not shifted by any zone', () => {
  it.each([
    ['en', '12/2/2026', 'Mon'],
    ['ru', '02.12.2026', 'пн'],
    ['zh', '2026/12/2', '周一'],
  ] as const)('%s', (lang, day, monday) => {
    setLang(lang);
    setTimeZone('Pacific/Kiritimati');
    expect(formatDay('2026-12-02')).toBe(day);
    expect(formatWeekday(1)).toBe(monday);
  });

  it('leaves what is not a date as it is', () => expect(formatDay('soon')).toBe('soon'));
});

describe('numbers follow the UI language', () => {
  it.each([
    ['en', '1,234,567.5'],
    ['ru', '1 234 567,5'],
    ['zh', '1,234,567.5'],
  ] as const)('%s groups thousands its own way', (lang, text) => {
    setLang(lang);
    expect(plain(formatNumber(1234567.5))).toBe(text);
  });
});
