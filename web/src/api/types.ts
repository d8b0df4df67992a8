/**
 * Types of the HTTP API, written from docs/api.md.
 *
 * The server also serves the machine-readable document at `GET /api/openapi.json` (utoipa). When it
 * settles, these types can be generated from it (e.g. openapi-typescript) or checked against it in
 * CI; until then keep them in step with docs/api.md by hand.
 */

export type Role = 'administrator' | 'sub_administrator' | 'user';

export const ROLES: readonly Role[] = ['administrator', 'sub_administrator', 'user'];

export function isAdminRole(role: Role): boolean {
  return role === 'administrator' || role === 'sub_administrator';
}

export interface GroupRef {
  id: number;
  name: string;
}

export interface User {
  id: number;
  login: string;
  name: string;
  email: string;
  disabled: boolean;
  role: Role;
  groups: GroupRef[];
  /** RFC 3339 timestamp. */
  created_at: string;
}

export interface Tenant {
  id: number;
  account: string;
  name: string;
}

export interface Me {
  user: User;
  tenant: Tenant;
  role: Role;
  /** The CSRF token bound to this session. */
  csrf: string;
}

export interface Group {
  id: number;
  name: string;
  role: Role;
  builtin: boolean;
  member_count: number;
}

/** The body of every 4xx/5xx answer. */
export interface ErrorBody {
  code: string;
  message: string;
}

export interface SignupRequest {
  account: string;
  tenant_name: string;
  login: string;
  name: string;
  email: string;
  password: string;
}

export interface LoginRequest {
  account: string;
  login: string;
  password: string;
}

export interface CreateUserRequest {
  login: string;
  name: string;
  email: string;
  password: string;
  group_ids: number[];
}

export interface UpdateUserRequest {
  name?: string;
  email?: string;
  password?: string;
  disabled?: boolean;
  group_ids?: number[];
}

export interface CreateGroupRequest {
  name: string;
  role: Role;
}

export interface UpdateGroupRequest {
  name?: string;
  role?: Role;
}
