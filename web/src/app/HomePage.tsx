import type { Me } from '../shared/api/types';
import { isAdminRole } from '../shared/api/types';
import { roleLabel } from '../shared/ui/Badges';
import { t } from '../shared/i18n';
import { Dashboard } from '../features/dashboard/Dashboard';

/**
 * What every signed-in person sees first: who they are (one compact line: account, role, access
 * groups), then today's figures and, for supervisors, the account's (the dashboard, issue #20).
 */
export function HomePage({ me }: { me: Me }) {
  return (
    <section class="page">
      <div class="dash-head">
        <h1>{t('home.welcome', { name: me.user.name })}</h1>
        <p class="dash-who muted" data-testid="dash-who">
          <span>{t('home.account', { tenant: me.tenant.name, account: me.tenant.account })}</span>
          <span>{t('home.role', { role: roleLabel(me.role) })}</span>
          <span>
            {t('home.groups')}:{' '}
            {me.user.groups.length > 0 ? me.user.groups.map((g) => g.name).join(', ') : t('home.noGroups')}
          </span>
        </p>
      </div>
      <Dashboard />
      {isAdminRole(me.role) && <p class="muted small">{t('home.adminHint')}</p>}
    </section>
  );
}
