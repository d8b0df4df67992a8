import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { en } from './en';
import { ru } from './ru';
import { zh } from './zh';
import {
  createTranslator,
  detectLang,
  getLang,
  initLang,
  LANGS,
  onLangChange,
  setLang,
  t,
  type Dictionary,
  type Message,
} from './index';

const placeholders = (m: Message): string[] => {
  const texts = typeof m === 'string' ? [m] : Object.values(m);
  return [...new Set(texts.flatMap((s) => [...(s ?? '').matchAll(/\{(\w+)\}/g)].map((x) => x[1]!)))].sort();
};

describe('t()', () => {
  beforeEach(() => setLang('en'));

  it('looks up English and fills parameters', () => {
    expect(t('users.title')).toBe('Users');
    expect(t('home.welcome', { name: 'Anna' })).toBe('Welcome, Anna');
  });

  it('switches to Russian', () => {
    setLang('ru');
    expect(t('users.title')).toBe('Пользователи');
    expect(t('users.editTitle', { login: 'ivan' })).toBe('Пользователь ivan');
  });

  it('chooses English plural forms', () => {
    expect(t('users.count', { count: 1 })).toBe('1 user');
    expect(t('users.count', { count: 0 })).toBe('0 users');
    expect(t('users.count', { count: 7 })).toBe('7 users');
  });

  it('chooses Russian plural forms one / few / many', () => {
    setLang('ru');
    const cases: [number, string][] = [
      [1, '1 пользователь'],
      [2, '2 пользователя'],
      [4, '4 пользователя'],
      [5, '5 пользователей'],
      [11, '11 пользователей'],
      [12, '12 пользователей'],
      [21, '21 пользователь'],
      [22, '22 пользователя'],
      [25, '25 пользователей'],
      [111, '111 пользователей'],
      [0, '0 пользователей'],
    ];
    for (const [n, text] of cases) expect(t('users.count', { count: n })).toBe(text);
    expect(t('login.retryIn', { count: 1 })).toContain('1 секунду');
    expect(t('login.retryIn', { count: 3 })).toContain('3 секунды');
    expect(t('login.retryIn', { count: 42 })).toContain('42 секунды');
    expect(t('login.retryIn', { count: 45 })).toContain('45 секунд.');
  });

  it('persists the language and tells listeners', () => {
    const seen: string[] = [];
    const off = onLangChange((l) => seen.push(l));
    setLang('ru');
    off();
    setLang('en');
    expect(seen).toEqual(['ru']);
    expect(localStorage.getItem('callbase.lang')).toBe('en');
    expect(document.documentElement.lang).toBe('en-US');
    expect(getLang()).toBe('en');
  });

  it('switches to Chinese, with one plural form and the zh-CN tag on <html>', () => {
    setLang('zh');
    expect(document.documentElement.lang).toBe('zh-CN');
    expect(t('users.title')).toBe('用户');
    expect(t('users.editTitle', { login: 'wang' })).toBe('编辑用户 wang');
    for (const n of [0, 1, 2, 5, 21]) expect(t('users.count', { count: n })).toBe(`${n} 个用户`);
    expect(t('login.retryIn', { count: 1 })).toBe('失败次数过多。请在 1 秒后重试。');
  });
});

describe('createTranslator fallback', () => {
  const tr = createTranslator<'a' | 'b' | 'c'>(
    { en: { a: 'A', b: { one: '{count} B', other: '{count} Bs' } }, zh: { a: '甲' } },
    'en',
  );
  it('uses the language when it has the key', () => expect(tr('zh', 'a')).toBe('甲'));
  it('falls back to English for a missing key, with English plural rules', () =>
    expect(tr('zh', 'b', { count: 2 })).toBe('2 Bs'));
  it('falls back for an unknown language', () => expect(tr('de', 'a')).toBe('A'));
  it('shows the key when no dictionary has it', () => expect(tr('en', 'c')).toBe('c'));
  it('leaves unknown placeholders visible', () => {
    const tr2 = createTranslator<'x'>({ en: { x: 'Hi {who}' } }, 'en');
    expect(tr2('en', 'x', {})).toBe('Hi {who}');
  });
});

describe('detectLang', () => {
  it('prefers the stored choice', () => expect(detectLang('ru', ['en-US'])).toBe('ru'));
  it('ignores an unsupported stored value', () => expect(detectLang('xx', ['ru-RU'])).toBe('ru'));
  it('takes the first supported browser language', () => expect(detectLang(null, ['de-DE', 'ru', 'en'])).toBe('ru'));
  it('defaults to English', () => expect(detectLang(null, ['de-DE', 'fr'])).toBe('en'));
  it('takes Simplified Chinese from zh, zh-CN, zh-Hans and zh-SG', () => {
    for (const tag of ['zh', 'zh-CN', 'zh-cn', 'zh-Hans', 'zh-Hans-CN', 'zh-SG', 'zh_CN']) {
      expect(detectLang(null, [tag, 'en']), tag).toBe('zh');
    }
  });
  it('passes over Traditional Chinese to the next language', () => {
    for (const tag of ['zh-TW', 'zh-HK', 'zh-MO', 'zh-Hant', 'zh-Hant-TW']) {
      expect(detectLang(null, [tag, 'ru']), tag).toBe('ru');
      expect(detectLang(null, [tag]), tag).toBe('en');
    }
  });
  it('offers every language it can detect', () => expect([...LANGS].sort()).toEqual(['en', 'ru', 'zh']));
});

describe('the first visit follows the browser', () => {
  const stubLanguages = (langs: string[]) =>
    Object.defineProperty(navigator, 'languages', { value: langs, configurable: true });
  afterEach(() => {
    delete (navigator as { languages?: unknown }).languages;
    localStorage.removeItem('callbase.lang');
    setLang('en');
  });

  it('a Chinese browser gets Chinese, and <html lang> says zh-CN', () => {
    localStorage.removeItem('callbase.lang');
    stubLanguages(['zh-CN', 'zh', 'en']);
    expect(initLang()).toBe('zh');
    expect(document.documentElement.lang).toBe('zh-CN');
    expect(t('nav.calls')).toBe('通话');
  });

  it('a stored choice wins over the browser', () => {
    localStorage.setItem('callbase.lang', 'ru');
    stubLanguages(['zh-CN']);
    expect(initLang()).toBe('ru');
  });
});

/**
 * Both translations against English: the same keys (a missing key is also a `tsc` error, since
 * they are typed `Dictionary` = every key of English; an extra key is an excess property), the
 * same placeholders, and only the plural categories the language has.
 */
const translations: [string, Dictionary, string[]][] = [
  ['ru', ru, ['one', 'few', 'many', 'other']],
  ['zh', zh, ['other']],
];

describe.each(translations)('the %s dictionary', (lang, dict, categories) => {
  it('has every key of English and no other', () => {
    const missing = Object.keys(en).filter((k) => !(k in dict));
    const extra = Object.keys(dict).filter((k) => !(k in en));
    expect(missing, `${lang} lacks`).toEqual([]);
    expect(extra, `${lang} has keys English has not`).toEqual([]);
  });

  it('has the same placeholders as English for every key', () => {
    for (const key of Object.keys(en) as (keyof typeof en)[]) {
      expect(placeholders(dict[key]), `${lang} ${key}`).toEqual(placeholders(en[key]));
    }
  });

  it('gives plural messages exactly the CLDR categories of the language, and plain text for the rest', () => {
    expect([...new Intl.PluralRules(lang).resolvedOptions().pluralCategories].sort()).toEqual([...categories].sort());
    for (const [key, m] of Object.entries(dict)) {
      const english = en[key as keyof typeof en];
      expect(typeof m === 'string', `${lang} ${key}: plural in one language only`).toBe(typeof english === 'string');
      if (typeof m === 'string') {
        expect(m.trim(), `${lang} ${key} is empty`).not.toBe('');
        continue;
      }
      const own = Object.entries(m).filter(([, v]) => v !== undefined).map(([c]) => c).sort();
      if (lang === 'zh') expect(own, `${lang} ${key}`).toEqual(['other']);
      else for (const c of categories) expect(m[c as keyof typeof m], `${lang} ${key}.${c}`).toBeTruthy();
    }
  });
});

describe('the Chinese dictionary', () => {
  it('is translated: no message but names and codes is left in English', () => {
    // Messages that are the same in every language: names, formats, placeholders alone.
    const same = new Set(['app.name', 'lang.en', 'lang.ru', 'lang.zh', 'nav.crm', 'crm.title', 'reports.exportCsv',
      'reports.exportXlsx', 'trunks.rewritePreview', 'calls.fromReportRange', 'queues.more', 'menus.fieldError',
      'integ.pop.ph.direction']);
    const untranslated = (Object.keys(en) as (keyof typeof en)[]).filter(
      (k) => !same.has(k) && JSON.stringify(zh[k]) === JSON.stringify(en[k]),
    );
    expect(untranslated).toEqual([]);
  });
});

