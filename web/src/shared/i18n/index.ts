/**
 * The i18n layer: every text the user sees goes through {@link t}. English is the source
 * dictionary and the fallback; Russian has the CLDR plural forms (one / few / many), Chinese only
 * `other` (Intl.PluralRules('zh') knows no other category).
 */
import { en } from './en';
import { ru } from './ru';
import { zh } from './zh';

/** The CLDR plural categories a language uses; `other` is always there. */
export type PluralForms = { zero?: string; one?: string; two?: string; few?: string; many?: string; other: string };
export type Message = string | PluralForms;
export type MessageKey = keyof typeof en;
/** A complete dictionary: every key of the English one. */
export type Dictionary = Record<MessageKey, Message>;
export type Params = Record<string, string | number>;

export type Lang = 'en' | 'ru' | 'zh';
export const LANGS: readonly Lang[] = ['en', 'ru', 'zh'];
export const FALLBACK_LANG: Lang = 'en';

/**
 * The BCP 47 tag of each language: `<html lang>` and the locale dates and numbers are formatted in
 * (shared/i18n/format.ts). English is formatted the US way; Chinese is Simplified, mainland.
 */
export const LANG_TAG: Record<Lang, string> = { en: 'en-US', ru: 'ru-RU', zh: 'zh-CN' };

const STORAGE_KEY = 'callbase.lang';

function interpolate(text: string, params?: Params): string {
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name: string) =>
    Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : whole,
  );
}

function pick(message: Message, lang: string, params?: Params): string {
  if (typeof message === 'string') return message;
  const count = Number(params?.count ?? 0);
  const category = new Intl.PluralRules(lang).select(count) as keyof PluralForms;
  return message[category] ?? message.other;
}

/**
 * Builds a translator over `dicts`. A key missing from the chosen language falls back to the
 * fallback language, and a key missing everywhere shows itself (so a gap is visible, not blank).
 */
export function createTranslator<K extends string>(
  dicts: Record<string, Partial<Record<K, Message>>>,
  fallback: string,
) {
  return function translate(lang: string, key: K, params?: Params): string {
    const own = dicts[lang]?.[key];
    if (own !== undefined) return interpolate(pick(own, lang, params), params);
    const fb = dicts[fallback]?.[key];
    if (fb !== undefined) return interpolate(pick(fb, fallback, params), params);
    return key;
  };
}

const dictionaries: Record<Lang, Dictionary> = { en, ru, zh };
const translate = createTranslator<MessageKey>(dictionaries, FALLBACK_LANG);

/**
 * The supported language of a browser language tag, if any. Chinese is the Simplified one: `zh`,
 * `zh-CN`, `zh-Hans(-…)`, `zh-SG`; Traditional (`zh-TW`, `zh-HK`, `zh-MO`, `zh-Hant`) is not ours,
 * so the browser's next language (or English) is taken.
 */
function langOf(tag: string): Lang | null {
  const parts = tag.toLowerCase().split(/[-_]/);
  const base = parts[0]!;
  if (base === 'zh') {
    if (parts.includes('hant')) return null;
    if (parts.includes('hans')) return 'zh';
    return parts.some((p) => p === 'tw' || p === 'hk' || p === 'mo') ? null : 'zh';
  }
  return (LANGS as readonly string[]).includes(base) ? (base as Lang) : null;
}

/** Picks the first supported language among the stored choice and the browser's languages. */
export function detectLang(stored: string | null | undefined, browser: readonly string[]): Lang {
  if (stored && (LANGS as readonly string[]).includes(stored)) return stored as Lang;
  for (const tag of browser) {
    const lang = langOf(tag);
    if (lang) return lang;
  }
  return FALLBACK_LANG;
}

function readStored(): string | null {
  try {
    return localStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

function browserLangs(): string[] {
  if (typeof navigator === 'undefined') return [];
  return navigator.languages?.length ? [...navigator.languages] : [navigator.language].filter(Boolean);
}

let current: Lang = detectLang(readStored(), browserLangs());
const listeners = new Set<(lang: Lang) => void>();

export function getLang(): Lang {
  return current;
}

/** Switches the language, remembers it in localStorage and tells the listeners (the app re-renders). */
export function setLang(lang: Lang): void {
  current = lang;
  try {
    localStorage.setItem(STORAGE_KEY, lang);
  } catch {
    /* private mode: the choice lasts for this page only */
  }
  if (typeof document !== 'undefined') document.documentElement.lang = LANG_TAG[lang];
  for (const l of listeners) l(lang);
}

export function onLangChange(listener: (lang: Lang) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** The text for `key` in the current language. */
export function t(key: MessageKey, params?: Params): string {
  return translate(current, key, params);
}

/** Re-reads the stored choice and the browser's languages (used at start-up and by tests). */
export function initLang(): Lang {
  current = detectLang(readStored(), browserLangs());
  if (typeof document !== 'undefined') document.documentElement.lang = LANG_TAG[current];
  return current;
}
