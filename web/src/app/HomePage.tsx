import type { Me } from '../shared/api/types';
import { isAdminRole } from '../shared/api/types';
import { roleLabel } from '../shared/ui/Badges';
import { t } from '../shared/i18n';

/** What every signed-in person sees first: who they are, in which account, with which groups. */
export function HomePage({ me }: { me: Me }) {
  return (
    <section class="page">
      <h1>{t('home.welcome', { name: me.user.name })}</h1>
      <p>{t('home.account', { tenant: me.tenant.name, account: me.tenant.account })}</p>
      <p>{t('home.role', { role: roleLabel(me.role) })}</p>
      <h2>{t('home.groups')}</h2>
      {me.user.groups.length > 0 ? (
        <ul class="chips">
          {me.user.groups.map((g) => (
            <li key={g.id} class="chip">{g.name}</li>
          ))}
        </ul>
      ) : (
        <p>{t('home.noGroups')}</p>
      )}
      {isAdminRole(me.role) && <p class="muted">{t('home.adminHint')}</p>}
      <p class="muted">{t('home.later')}</p>
    </section>
  );
}
