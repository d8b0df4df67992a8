import type { ComponentChildren } from 'preact';
import { t } from '../../shared/i18n';
import { Icon } from '../../shared/ui/Icon';
import { LanguageSwitch } from '../../shared/ui/LanguageSwitch';

/** The frame of the signed-out pages: brand, language switch, one centred card. */
export function AuthLayout({ title, children }: { title: string; children: ComponentChildren }) {
  return (
    <div class="auth">
      <header class="auth__top">
        <div class="topbar__brand">
          <Icon name="phone" size={18} /> {t('app.name')}
        </div>
        <LanguageSwitch />
      </header>
      <main id="main" class="auth__card">
        <h1>{title}</h1>
        {children}
      </main>
    </div>
  );
}
