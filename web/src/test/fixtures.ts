/** Users, groups and the signed-in administrator shared by page tests. */
import type { Group, Me, User } from '../shared/api/types';

export const ADMIN: User = { id: 1, login: 'admin', name: 'Anna', email: 'a@x.ru', disabled: false, role: 'administrator', groups: [{ id: 1, name: 'Administrators' }], created_at: '' };
export const IVAN: User = { id: 2, login: 'ivan', name: 'Ivan', email: 'i@x.ru', disabled: true, role: 'user', groups: [], created_at: '' };
export const GROUPS: Group[] = [
  { id: 1, name: 'Administrators', role: 'administrator', builtin: true, supervisor: false, private: false, member_count: 1 },
  { id: 4, name: 'Sales', role: 'user', builtin: false, supervisor: false, private: false, member_count: 2 },
];
export const ME: Me = { user: ADMIN, tenant: { id: 1, account: 'demo', name: 'Demo', time_zone: 'UTC' }, role: 'administrator', supervisor: true, csrf: 'test-token' };
