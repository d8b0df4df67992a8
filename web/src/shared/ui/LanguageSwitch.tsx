import { getLang, LANG_TAG, LANGS, setLang, t, type Lang } from '../i18n';

/** What each button shows: the language's own short name. */
const SHORT: Record<Lang, string> = { en: 'EN', ru: 'RU', zh: '中文' };

/** EN / RU / 中文 buttons; the pressed one is the current language (aria-pressed, bold and underlined). */
export function LanguageSwitch() {
  const current = getLang();
  return (
    <div class="lang-switch" role="group" aria-label={t('lang.label')}>
      {LANGS.map((lang) => (
        <button
          type="button"
          key={lang}
          class="lang-switch__btn"
          lang={LANG_TAG[lang]}
          aria-pressed={lang === current}
          title={t(`lang.${lang}`)}
          onClick={() => setLang(lang)}
        >
          {SHORT[lang]}
        </button>
      ))}
    </div>
  );
}
