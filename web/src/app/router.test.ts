import { describe, expect, it } from 'vitest';
import type { Me, Role } from '../shared/api/types';
import { matchRoute, pathFromHash, resolveRoute } from './router';

const me = (role: Role, supervisor = role !== 'user'): Me => ({
  user: { id: 1, login: 'x', name: 'X', email: 'x@y.ru', disabled: false, role, groups: [], created_at: '' },
  tenant: { id: 1, account: 'demo', name: 'Demo', time_zone: 'UTC' },
  role,
  supervisor,
  csrf: 't',
});

describe('router', () => {
  it('reads the path from the hash', () => {
    expect(pathFromHash('')).toBe('/');
    expect(pathFromHash('#')).toBe('/');
    expect(pathFromHash('#/users')).toBe('/users');
    expect(pathFromHash('#/users/')).toBe('/users');
    expect(pathFromHash('#groups?x=1')).toBe('/groups');
  });

  it('matches routes', () => {
    expect(matchRoute('/')).toBe('home');
    expect(matchRoute('/signup')).toBe('signup');
    expect(matchRoute('/nope')).toBe('notFound');
  });

  it('sends signed-out people to the login page, except sign-up', () => {
    expect(resolveRoute('/users', null)).toEqual({ kind: 'redirect', path: '/login' });
    expect(resolveRoute('/', null)).toEqual({ kind: 'redirect', path: '/login' });
    expect(resolveRoute('/nope', null)).toEqual({ kind: 'redirect', path: '/login' });
    expect(resolveRoute('/signup', null)).toEqual({ kind: 'show', route: 'signup' });
    expect(resolveRoute('/login', null)).toEqual({ kind: 'show', route: 'login' });
  });

  it('sends signed-in people past login and sign-up', () => {
    expect(resolveRoute('/login', me('user'))).toEqual({ kind: 'redirect', path: '/' });
    expect(resolveRoute('/signup', me('administrator'))).toEqual({ kind: 'redirect', path: '/' });
  });

  it('opens admin pages to administrators and sub-administrators only', () => {
    expect(resolveRoute('/users', me('administrator'))).toEqual({ kind: 'show', route: 'users' });
    expect(resolveRoute('/groups', me('sub_administrator'))).toEqual({ kind: 'show', route: 'groups' });
    expect(resolveRoute('/users', me('user'))).toEqual({ kind: 'redirect', path: '/' });
    expect(resolveRoute('/', me('user'))).toEqual({ kind: 'show', route: 'home' });
    expect(resolveRoute('/integrations', me('sub_administrator'))).toEqual({ kind: 'show', route: 'integrations' });
    expect(resolveRoute('/integrations', me('user', true))).toEqual({ kind: 'redirect', path: '/' });
    expect(resolveRoute('/nope', me('user'))).toEqual({ kind: 'show', route: 'notFound' });
  });

  it('opens the live board to supervisors (a group permission) and admins, not to agents', () => {
    expect(resolveRoute('/board', me('user', true))).toEqual({ kind: 'show', route: 'board' });
    expect(resolveRoute('/board', me('sub_administrator'))).toEqual({ kind: 'show', route: 'board' });
    expect(resolveRoute('/board', me('user'))).toEqual({ kind: 'redirect', path: '/' });
    expect(resolveRoute('/users', me('user', true))).toEqual({ kind: 'redirect', path: '/' });
  });

  it('opens the wallboard to supervisors and admins, not to agents', () => {
    expect(resolveRoute('/wallboard', me('user', true))).toEqual({ kind: 'show', route: 'wallboard' });
    expect(resolveRoute('/wallboard', me('administrator'))).toEqual({ kind: 'show', route: 'wallboard' });
    expect(resolveRoute('/wallboard', me('user'))).toEqual({ kind: 'redirect', path: '/' });
  });

  it('opens reports to every signed-in user (agents get their own figures)', () => {
    expect(resolveRoute('/reports', me('user'))).toEqual({ kind: 'show', route: 'reports' });
    expect(resolveRoute('/reports', me('administrator'))).toEqual({ kind: 'show', route: 'reports' });
    expect(resolveRoute('/reports', null)).toEqual({ kind: 'redirect', path: '/login' });
  });
});
