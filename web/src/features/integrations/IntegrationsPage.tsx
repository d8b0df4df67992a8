import { t } from '../../shared/i18n';
import { ApiKeys } from './ApiKeys';
import { ScreenPopForm } from './ScreenPopForm';
import { Webhooks } from './Webhooks';

/**
 * Settings → Integrations (issue #21; administrators and sub-administrators): API keys for other
 * programs, webhooks that post the account's events, and the external CRM page a call opens.
 */
export function IntegrationsPage({ isAdministrator }: { isAdministrator: boolean }) {
  return (
    <section class="page" aria-labelledby="integ-title">
      <div class="page__head">
        <h1 id="integ-title">{t('nav.integrations')}</h1>
      </div>
      <p class="muted">{t('integ.intro')}</p>
      <ApiKeys isAdministrator={isAdministrator} />
      <Webhooks />
      <ScreenPopForm />
    </section>
  );
}
