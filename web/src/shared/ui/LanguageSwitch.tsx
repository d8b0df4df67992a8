import { getLang, LANGS, setLang, t } from '../i18n';

/** EN / RU buttons; the pressed one is the current language (aria-pressed, bold and underlined). */
export function LanguageSwitch() {
  const current = getLang();
  return (
    <div class="lang-switch" role="group" aria-label={t('lang.label')}>
      {LANGS.map((lang) => (
        <button
          type="button"
          key={lang}
          class="lang-switch__btn"
          lang={lang}
          aria-pressed={lang === current}
          title={t(`lang.${lang}`)}
          onClick={() => setLang(lang)}
        >
          {lang.toUpperCase()}
        </button>
      ))}
    </div>
  );
}
