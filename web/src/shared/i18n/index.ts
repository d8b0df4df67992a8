/**
 * The i18n layer: every text the user sees goes through {@link t}. English is the source
 * dictionary and the fallback; Russian has the CLDR plural forms (one / few / many).
 */
import { en } from './en';
import { ru } from './ru';

export type PluralForms = { one: string; few?: string; many?: string; two?: string; zero?: string; other: string };
export type Message = string | PluralForms;
export type MessageKey = keyof typeof en;
/** A complete dictionary: every key of the English one. */
export type Dictionary = Record<MessageKey, Message>;
export type Params = Record<string, string | number>;

export type Lang = 'en' | 'ru';
export const LANGS: readonly Lang[] = ['en', 'ru'];
export const FALLBACK_LANG: Lang = 'en';

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

const dictionaries: Record<Lang, Dictionary> = { en, ru };
const translate = createTranslator<MessageKey>(dictionaries, FALLBACK_LANG);

/** Picks the first supported language among the stored choice and the browser's languages. */
export function detectLang(stored: string | null | undefined, browser: readonly string[]): Lang {
  if (stored && (LANGS as readonly string[]).includes(stored)) return stored as Lang;
  for (const tag of browser) {
    const base = tag.toLowerCase().split('-')[0];
    if ((LANGS as readonly string[]).includes(base)) return base as Lang;
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
  if (typeof document !== 'undefined') document.documentElement.lang = lang;
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
  if (typeof document !== 'undefined') document.documentElement.lang = current;
  return current;
}
