import { useEffect, useRef, useState } from 'preact/hooks';
import { api, isApiError } from '../shared/api/client';
import type { Me } from '../shared/api/types';
import { isAdminRole } from '../shared/api/types';
import { Alert } from '../shared/ui/Alert';
import { AppFrame } from './AppFrame';
import { SocketNotice } from '../shared/events/SocketNotice';
import { onSocketNotice } from '../shared/events';
import { explain, msg, say, type Msg } from '../shared/api/errors';
import { getLang, onLangChange, t, type MessageKey } from '../shared/i18n';
import { getTimeZone, onTimeZoneChange, setTimeZone } from '../shared/i18n/format';
import { GroupsPage } from '../features/groups/GroupsPage';
import { HomePage } from './HomePage';
import { ACCOUNT_KEY, LoginPage } from '../features/auth/LoginPage';
import { NotFoundPage } from './NotFoundPage';
import { SignupPage } from '../features/auth/SignupPage';
import { TrunksPage } from '../features/trunks/TrunksPage';
import { DialRulesPage } from '../features/telephony/DialRulesPage';
import { PhoneSetupPage } from '../features/phone/PhoneSetupPage';
import { CallsPage } from '../features/calls/CallsPage';
import { BoardPage } from '../features/board/BoardPage';
import { WallboardPage } from '../features/wallboard/WallboardPage';
import { CrmPage } from '../features/crm/CrmPage';
import { ReportsPage } from '../features/reports/ReportsPage';
import { AuditPage } from '../features/security/AuditPage';
import { IntegrationsPage } from '../features/integrations/IntegrationsPage';
import { TelephonyPage } from '../features/telephony/TelephonyPage';
import { UsersPage } from '../features/users/UsersPage';
import { currentPath, navigate, resolveRoute, type RouteName } from './router';

const TITLES: Record<RouteName, MessageKey> = {
  login: 'login.title',
  signup: 'signup.title',
  home: 'nav.home',
  users: 'nav.users',
  groups: 'nav.groups',
  trunks: 'nav.trunks',
  telephony: 'nav.telephony',
  dialRules: 'nav.dialRules',
  phoneSetup: 'phone.desk.setup',
  calls: 'calls.title',
  crm: 'crm.title',
  board: 'nav.board',
  wallboard: 'wallboard.title',
  reports: 'nav.reports',
  audit: 'nav.audit',
  integrations: 'nav.integrations',
  notFound: 'notFound.title',
};

/** `undefined` while we ask the server who is signed in. */
type Session = Me | null | undefined;

export function App() {
  const [me, setMe] = useState<Session>(undefined);
  const [path, setPath] = useState(currentPath());
  const [lang, setLang] = useState(getLang());
  const [startError, setStartError] = useState<Msg | null>(null);
  /** Set when the server ended the session under us, to explain the login page. */
  const [sessionEnded, setSessionEnded] = useState(false);
  const [logoutError, setLogoutError] = useState<Msg | null>(null);
  const meRef = useRef<Session>(undefined);
  meRef.current = me;

  useEffect(() => onLangChange(setLang), []);
  // Dates and times are shown in the tenant's time zone (shared/i18n/format.ts): every page
  // re-renders when it is learnt or changes.
  const [, setZone] = useState(getTimeZone());
  useEffect(() => onTimeZoneChange(setZone), []);
  const zone = me ? me.tenant.time_zone : undefined;
  useEffect(() => setTimeZone(zone), [zone]);
  useEffect(() => {
    const onHash = () => setPath(currentPath());
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  async function start() {
    setStartError(null);
    try {
      setMe(await api.me());
    } catch (e) {
      if (isApiError(e) && e.status === 401) setMe(null);
      else setStartError(explain(e));
    }
  }
  useEffect(() => {
    void start();
  }, []);

  useEffect(() => {
    api.onUnauthenticated = () => {
      if (meRef.current) setSessionEnded(true);
      setMe(null);
    };
    return () => {
      api.onUnauthenticated = undefined;
    };
  }, []);

  // The server closed a live socket: the session ended (to the login page, explained) or the
  // user's role changed (the menu follows).
  useEffect(
    () =>
      onSocketNotice((n) => {
        if (n.kind === 'session_ended' && meRef.current) {
          api.me().then(setMe, (e) => {
            if (isApiError(e) && e.status === 401) {
              setSessionEnded(true);
              setMe(null);
            }
          });
        }
        if (n.kind === 'access_changed' && meRef.current) api.me().then(setMe, () => undefined);
      }),
    [],
  );

  const resolution = me === undefined ? null : resolveRoute(path, me);
  useEffect(() => {
    if (resolution?.kind === 'redirect') navigate(resolution.path, true);
  }, [resolution?.kind, resolution?.kind === 'redirect' ? resolution.path : '']);

  const shown = resolution?.kind === 'show' ? resolution.route : null;
  // Reports read "My statistics" for anyone who sees only their own figures.
  const ownStats = shown === 'reports' && !!me && !me.supervisor && !isAdminRole(me.role);
  useEffect(() => {
    document.title = shown ? `${t(ownStats ? 'nav.myStats' : TITLES[shown])} · callbase` : 'callbase';
  }, [shown, lang, ownStats]);

  if (startError) {
    return (
      <main id="main" class="auth">
        <div class="auth__card">
          <Alert kind="error">{say(startError)}</Alert>
          <button type="button" class="btn btn--primary" onClick={start}>{t('common.retry')}</button>
        </div>
      </main>
    );
  }
  if (!resolution || resolution.kind === 'redirect') {
    return <p class="loading" aria-busy="true">{t('app.loading')}</p>;
  }

  const signedIn = (m: Me) => {
    try {
      localStorage.setItem(ACCOUNT_KEY, m.tenant.account);
    } catch {
      /* private mode: not remembered */
    }
    setSessionEnded(false);
    setMe(m);
    navigate('/', true);
  };

  switch (resolution.route) {
    case 'login':
      return <LoginPage onLoggedIn={signedIn} notice={sessionEnded ? msg('login.sessionEnded') : undefined} />;
    case 'signup':
      return <SignupPage onSignedUp={signedIn} />;
    case 'wallboard':
      // For a TV: the whole screen, without the app's frame (navigation, phone).
      return <WallboardPage />;
  }

  const session = me as Me;
  const refreshMe = () => {
    api.me().then(setMe, () => undefined);
  };
  const logout = async () => {
    setLogoutError(null);
    try {
      await api.logout();
      setMe(null);
    } catch (e) {
      // 401: already signed out (the client has switched to the login page). Anything else: the
      // session may still be alive, so stay and say so.
      if (!(isApiError(e) && e.status === 401)) setLogoutError(explain(e));
    }
  };
  return (
    <AppFrame me={session} route={resolution.route} onLogout={logout}>
      <SocketNotice />
      {logoutError && <Alert kind="error">{say(logoutError)}</Alert>}
      {resolution.route === 'home' && <HomePage me={session} />}
      {resolution.route === 'users' && <UsersPage me={session} onSelfChanged={refreshMe} />}
      {resolution.route === 'groups' && <GroupsPage myRole={session.role} />}
      {resolution.route === 'trunks' && <TrunksPage />}
      {resolution.route === 'telephony' && <TelephonyPage />}
      {resolution.route === 'dialRules' && <DialRulesPage />}
      {resolution.route === 'phoneSetup' && <PhoneSetupPage />}
      {resolution.route === 'calls' && <CallsPage isAdmin={isAdminRole(session.role)} />}
      {resolution.route === 'crm' && <CrmPage isAdmin={isAdminRole(session.role)} />}
      {resolution.route === 'board' && <BoardPage userId={session.user.id} isAdmin={isAdminRole(session.role)} />}
      {resolution.route === 'reports' && (
        <ReportsPage supervisor={session.supervisor || isAdminRole(session.role)} userId={session.user.id} />
      )}
      {resolution.route === 'audit' && <AuditPage isAdministrator={session.role === 'administrator'} />}
      {resolution.route === 'integrations' && <IntegrationsPage isAdministrator={session.role === 'administrator'} />}
      {resolution.route === 'notFound' && <NotFoundPage />}
    </AppFrame>
  );
}
