import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import type { Me } from '../shared/api/types';
import { isAdminRole } from '../shared/api/types';
import { t, type MessageKey } from '../shared/i18n';
import { href, type RouteName } from './router';
import { roleLabel } from '../shared/ui/Badges';
import { Icon, type IconName } from '../shared/ui/Icon';
import { LanguageSwitch } from '../shared/ui/LanguageSwitch';
import { PhoneDock } from '../features/phone/PhoneDock';
import { CallCard } from '../features/calls/card/CallCard';

interface FrameProps {
  me: Me;
  route: RouteName;
  onLogout: () => Promise<void>;
  children: ComponentChildren;
}

/** The signed-in frame: top bar (tenant, user, language, log out), left navigation, the page. */
export function AppFrame({ me, route, onLogout, children }: FrameProps) {
  return (
    <div class="frame">
      <a class="skip-link" href="#main">
        {t('app.skipToContent')}
      </a>
      <TopBar me={me} onLogout={onLogout} />
      <SideNav me={me} route={route} />
      <main id="main" class="frame__main" tabIndex={-1}>
        {children}
      </main>
      <PhoneDock tenantId={me.tenant.id} userId={me.user.id} />
      <CallCard userId={me.user.id} />
    </div>
  );
}

function TopBar({ me, onLogout }: { me: Me; onLogout: () => Promise<void> }) {
  const [busy, setBusy] = useState(false);
  async function logout() {
    setBusy(true);
    try {
      await onLogout();
    } finally {
      setBusy(false);
    }
  }
  return (
    <header class="topbar">
      <div class="topbar__brand">
        <Icon name="phone" size={18} /> {t('app.name')}
      </div>
      <div class="topbar__tenant" title={t('top.account', { account: me.tenant.account })}>
        {me.tenant.name}
      </div>
      <div class="topbar__spacer" />
      <div class="topbar__user">
        <span class="topbar__user-name">{me.user.name}</span>
        <span class="topbar__user-role">{roleLabel(me.role)}</span>
      </div>
      <LanguageSwitch />
      <button type="button" class="btn btn--quiet" onClick={logout} disabled={busy}>
        {busy ? t('top.loggingOut') : t('top.logout')}
      </button>
    </header>
  );
}

interface NavEntry {
  label: MessageKey;
  icon: IconName;
  route?: RouteName;
  path?: string;
}

function NavLink({ entry, active }: { entry: NavEntry; active: boolean }) {
  if (!entry.path) {
    return (
      <li>
        <span class="nav__item nav__item--soon" aria-disabled="true">
          <Icon name={entry.icon} />
          {t(entry.label)}
          <span class="nav__soon">{t('common.comingSoon')}</span>
        </span>
      </li>
    );
  }
  return (
    <li>
      <a class={'nav__item' + (active ? ' nav__item--active' : '')} href={href(entry.path)} aria-current={active ? 'page' : undefined}>
        <Icon name={entry.icon} />
        {t(entry.label)}
      </a>
    </li>
  );
}

function SideNav({ me, route }: { me: Me; route: RouteName }) {
  const main: NavEntry[] = [
    { label: 'nav.home', icon: 'home', route: 'home', path: '/' },
    { label: 'nav.crm', icon: 'table', route: 'crm', path: '/crm' },
    { label: 'nav.calls', icon: 'phone', route: 'calls', path: '/calls' },
  ];
  if (me.supervisor) main.push({ label: 'nav.board', icon: 'users', route: 'board', path: '/board' });
  // Supervisors' reports on everyone; anyone else's own figures (the same page, restricted by the server).
  const seesAll = me.supervisor || isAdminRole(me.role);
  main.push({ label: seesAll ? 'nav.reports' : 'nav.myStats', icon: 'chart', route: 'reports', path: '/reports' });
  const settings: NavEntry[] = [
    { label: 'nav.users', icon: 'user', route: 'users', path: '/users' },
    { label: 'nav.groups', icon: 'users', route: 'groups', path: '/groups' },
    { label: 'nav.telephony', icon: 'phone', route: 'telephony', path: '/telephony' },
    { label: 'nav.trunks', icon: 'phone', route: 'trunks', path: '/telephony/trunks' },
    { label: 'nav.dialRules', icon: 'phone', route: 'dialRules', path: '/telephony/dial-rules' },
  ];
  // Two-factor sign-in for every admin; the audit log on it for administrators only.
  settings.push({ label: 'nav.audit', icon: 'user', route: 'audit', path: '/security/audit' });
  settings.push({ label: 'nav.integrations', icon: 'gear', route: 'integrations', path: '/integrations' });
  return (
    <nav class="nav" aria-label={t('nav.label')}>
      <ul>
        {main.map((e) => (
          <NavLink key={e.label} entry={e} active={e.route === route} />
        ))}
      </ul>
      {isAdminRole(me.role) && (
        <>
          <h2 class="nav__heading">{t('nav.settings')}</h2>
          <ul>
            {settings.map((e) => (
              <NavLink key={e.label} entry={e} active={e.route === route} />
            ))}
          </ul>
        </>
      )}
    </nav>
  );
}
