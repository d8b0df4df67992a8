/**
 * Hash routing (`#/users`): works whatever the server does with unknown paths, and the server only
 * has to serve `index.html` at `/`.
 */
import type { Me } from '../shared/api/types';
import { isAdminRole } from '../shared/api/types';

export type RouteName = 'login' | 'signup' | 'home' | 'users' | 'groups' | 'trunks' | 'telephony' | 'dialRules' | 'phoneSetup' | 'calls' | 'crm' | 'board' | 'wallboard' | 'reports' | 'audit' | 'integrations' | 'notFound';

interface RouteDef {
  path: string;
  /** Who may open it: everyone signed out, any signed-in user, supervisors (admins included), or admins. */
  access: 'guest' | 'user' | 'supervisor' | 'admin';
}

export const ROUTES: Record<Exclude<RouteName, 'notFound'>, RouteDef> = {
  login: { path: '/login', access: 'guest' },
  signup: { path: '/signup', access: 'guest' },
  home: { path: '/', access: 'user' },
  users: { path: '/users', access: 'admin' },
  groups: { path: '/groups', access: 'admin' },
  trunks: { path: '/telephony/trunks', access: 'admin' },
  telephony: { path: '/telephony', access: 'admin' },
  dialRules: { path: '/telephony/dial-rules', access: 'admin' },
  phoneSetup: { path: '/telephony/phone-setup', access: 'user' },
  calls: { path: '/calls', access: 'user' },
  crm: { path: '/crm', access: 'user' },
  board: { path: '/board', access: 'supervisor' },
  wallboard: { path: '/wallboard', access: 'supervisor' },
  reports: { path: '/reports', access: 'user' },
  audit: { path: '/security/audit', access: 'admin' },
  integrations: { path: '/integrations', access: 'admin' },
};

/** The path inside the hash: `#/users?x=1` → `/users`. */
export function pathFromHash(hash: string): string {
  let p = hash.startsWith('#') ? hash.slice(1) : hash;
  p = p.split('?')[0] ?? '';
  if (!p.startsWith('/')) p = '/' + p;
  if (p.length > 1 && p.endsWith('/')) p = p.slice(0, -1);
  return p;
}

export function matchRoute(path: string): RouteName {
  for (const [name, def] of Object.entries(ROUTES) as [Exclude<RouteName, 'notFound'>, RouteDef][]) {
    if (def.path === path) return name;
  }
  return 'notFound';
}

export type Resolution = { kind: 'show'; route: RouteName } | { kind: 'redirect'; path: string };

/**
 * What to show for `path` given who is signed in: signed-out people go to the login page, signed-in
 * people skip login/sign-up, and admin pages send non-admins home.
 */
export function resolveRoute(path: string, me: Me | null): Resolution {
  const route = matchRoute(path);
  if (route === 'notFound') return me ? { kind: 'show', route } : { kind: 'redirect', path: '/login' };
  const access = ROUTES[route].access;
  if (access === 'guest') return me ? { kind: 'redirect', path: '/' } : { kind: 'show', route };
  if (!me) return { kind: 'redirect', path: '/login' };
  if (access === 'admin' && !isAdminRole(me.role)) return { kind: 'redirect', path: '/' };
  if (access === 'supervisor' && !me.supervisor) return { kind: 'redirect', path: '/' };
  return { kind: 'show', route };
}

export function href(path: string): string {
  return '#' + path;
}

export function navigate(path: string, replace = false): void {
  if (replace) location.replace(href(path));
  else location.hash = path;
}

export function currentPath(): string {
  return pathFromHash(location.hash);
}
