import { beforeEach, describe, expect, it } from 'vitest';
import { en } from './en';
import { ru } from './ru';
import { createTranslator, detectLang, getLang, onLangChange, setLang, t, type Message } from './index';

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
    expect(document.documentElement.lang).toBe('en');
    expect(getLang()).toBe('en');
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
  it('defaults to English', () => expect(detectLang(null, ['zh-CN'])).toBe('en'));
});

describe('the Russian dictionary', () => {
  it('has the same placeholders as English for every key', () => {
    for (const key of Object.keys(en) as (keyof typeof en)[]) {
      expect(placeholders(ru[key]), key).toEqual(placeholders(en[key]));
    }
  });
  it('gives every plural message the forms one, few and many', () => {
    for (const [key, m] of Object.entries(ru)) {
      if (typeof m === 'string') continue;
      expect(m.one && m.few && m.many && m.other, key).toBeTruthy();
    }
  });
});
