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
  /** The authenticator app's code or a recovery code (two-factor sign-in). */
  code?: string;
}

/** `GET /api/auth/two-factor`. */
export interface TwoFactorStatus {
  enabled: boolean;
  pending: boolean;
  tenant_requires: boolean;
  required: boolean;
  recovery_codes_left: number;
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

// --- trunks (docs/api.md, "Trunks") ---
export type TrunkState = 'registered' | 'rejected' | 'unregistered' | 'waiting' | 'refused';
export type TrunkMode = 'simple' | 'extended';

export interface TrunkStatus {
  state: TrunkState;
  reason: string | null;
  since: number | null;
}

export interface Trunk {
  id: number;
  position: number;
  mode: TrunkMode;
  label: string;
  number: string | null;
  username: string;
  domain: string;
  host: string;
  rewrite: string | null;
  preset: string | null;
  password_set: boolean;
  registration: string;
  status: TrunkStatus;
}

export interface TrunkRequest {
  mode: TrunkMode;
  label?: string;
  number?: string;
  username: string;
  /** Required on create; omitted to keep the stored one. */
  password?: string;
  domain?: string;
  host?: string;
  rewrite?: string;
  preset?: string;
}

export interface TrunkPreset {
  id: string;
  name: string;
  mode: TrunkMode;
  domain: string;
  host: string;
  rewrite: string | null;
}

/** A `trunk_status` message of the `/events` WebSocket. */
export interface TrunkStatusEvent {
  type: 'trunk_status';
  registration: string;
  state: TrunkState;
  reason: string;
  since: number;
}

/** A telephony user (docs/api.md, "Telephony module and users"). */
export interface TelUser {
  user_id: number;
  name: string;
  login: string;
  extension: string;
  sip_login: string;
  accept_incoming: boolean;
  browser_calls: boolean;
  /** May call abroad (toll-fraud guard; off for agents by default). */
  international: boolean;
  source: 'manual' | 'group';
  online: { browser: boolean; desk: boolean };
  disabled: boolean;
  /** Only in the answer that created or reset it. */
  sip_password?: string;
}

export interface TelephonyState {
  enabled: boolean;
  account: string;
  me: TelUser | null;
}

export interface PhoneSession {
  ws_path: string;
  uri: string;
  authorization_user: string;
  password: string;
  display_name: string;
  extension: string;
  ice_servers: RTCIceServer[];
}

export interface NumberPreview {
  direction?: string | null;
  e164?: string | null;
  dial?: string | null;
  refused?: string | null;
  refused_code?: string | null;
}

export interface ProbePoint {
  at: string;
  ok: boolean;
  setup_ms: number | null;
  ice_ms: number | null;
  dtls_ms: number | null;
  rtt_ms: number | null;
  loss_pct: number | null;
  jitter_ms: number | null;
  error: string | null;
}

export interface ProbeHistory {
  probe_number: string | null;
  points: ProbePoint[];
  alert: { since: string; failures: number; error: string } | null;
}

export interface Routing {
  ring_timeout_secs: number;
  forward_number: string | null;
}

export type DialDirection = 'internal' | 'local' | 'national' | 'mobile' | 'international';

/** The tenant's dial rules (server/core/src/dial.rs). */
export interface DialRules {
  country_code: string;
  city_prefix: string;
  national_prefix: string;
  international_prefix: string;
  local_length: number;
  national_length: number;
  mobile_prefixes: string[];
  short_rules: string[];
  blocked_country_codes: string[];
  /** Premium-rate ranges allowed explicitly (E.164 prefixes without '+', e.g. `7809`); refused otherwise. */
  allowed_premium?: string[];
  allowed: Record<DialDirection, boolean>;
}

export interface PhoneSetup {
  sip_login: string;
  domain: string;
  server: string;
  port: number;
  transports: string[];
  extension: string;
  browser_calls: boolean;
}

/** A call record (GET /api/calls). */
export interface CallRecording {
  state: 'recording' | 'pending' | 'stored' | 'failed' | 'deleted';
  bytes: number | null;
  duration_ms: number | null;
  file_name: string;
}

export interface CallRecord {
  id: string;
  direction: 'inbound' | 'outbound' | 'internal';
  user_id: number | null;
  user_name: string | null;
  number: string;
  did: string | null;
  trunk_slot: number | null;
  started_at: string;
  answered_at: string | null;
  ended_at: string | null;
  duration_secs: number | null;
  connect_secs: number | null;
  talk_secs: number | null;
  hold_secs: number;
  result: 'answered' | 'missed' | 'busy' | 'failed' | 'refused' | 'forwarded' | null;
  reason: string | null;
  route_note: string | null;
  note: string | null;
  call_type: string | null;
  call_result: string | null;
  legal_hold: boolean;
  recording: CallRecording | null;
  /** After-call work: end of the call → the agent closed its card. */
  wrapup_secs?: number | null;
  /** The CRM record linked to the call. */
  client?: { record_id: number; table_id: number; title: string } | null;
}

export interface CallPage {
  items: CallRecord[];
  total: number;
  page: number;
  per_page: number;
}

export interface CallFilter {
  from?: string;
  to?: string;
  direction?: string;
  result?: string;
  missed?: boolean;
  number?: string;
  sort?: string;
  order?: 'asc' | 'desc';
  page?: number;
  per_page?: number;
}

export interface CallPatch {
  note?: string;
  call_type?: string;
  call_result?: string;
  legal_hold?: boolean;
  /** The agent finished the after-call work (records the wrap-up time once). */
  wrapup_done?: boolean;
}

export interface RecordingSettings {
  record_calls: boolean;
  record_group_ids: number[];
  retention_days: number;
  retention_delete_calls: boolean;
  calls_visible_to_all: boolean;
  call_types: string[];
  call_results: string[];
}

export interface AuditEntry {
  call_id: string;
  user_id: number | null;
  user_name: string | null;
  action: 'listen' | 'download' | 'zip';
  ip: string | null;
  user_agent: string | null;
  at: string;
}

// CRM (docs/crm.md).
export type FieldKind = 'text' | 'long_text' | 'number' | 'date' | 'select' | 'phone' | 'email' | 'user';

export interface CrmField {
  id: number;
  name: string;
  kind: FieldKind;
  options: string[];
  is_title: boolean;
  position: number;
}

export interface CrmTable {
  id: number;
  name: string;
  call_table: boolean;
  card_field_ids: number[];
  record_count: number;
  fields: CrmField[];
}

export interface CrmRecord {
  id: number;
  table_id: number;
  /** `{field id: value}`; phone values masked for masked users. */
  values: Record<string, unknown>;
  phones: Record<string, { e164: string | null; valid: boolean }>;
  title: string;
  created_at: string;
  updated_at: string;
}

export type FilterOp = 'contains' | 'equals' | 'greater' | 'less' | 'empty' | 'not_empty';

export interface CrmFilter {
  field: number;
  op: FilterOp;
  value: string;
}

export interface RecordQuery {
  page?: number;
  per_page?: number;
  sort?: number;
  desc?: boolean;
  q?: string;
  filters?: CrmFilter[];
}

export interface RecordPage {
  records: CrmRecord[];
  total: number;
  total_capped: boolean;
  page: number;
  per_page: number;
}

export interface CardField {
  field_id: number;
  name: string;
  kind: FieldKind;
  value: string;
}

export interface CardMatch {
  record_id: number;
  table_id: number;
  table_name: string;
  title: string;
  field_id: number;
  card: CardField[];
}

export interface CallCardInfo {
  number: string;
  linked_record_id: number | null;
  matches: CardMatch[];
  similar: boolean;
}

export interface ImportPreview {
  id: string;
  columns: string[];
  preview: string[][];
  rows: number;
  delimiter: string;
  suggested: (number | null)[];
}

export interface ImportStatus {
  id: string;
  table_id: number;
  state: 'uploaded' | 'running' | 'done' | 'failed';
  rows: number;
  done_rows: number;
  inserted: number;
  skipped: number;
  phones_as_text: number;
  errors: { line: number; field: string; message: string }[];
  message: string | null;
}

export interface CrmSettings {
  similar_match_digits: number;
  mask_group_ids: number[];
  mask_mode: 'hidden' | 'prefix';
  mask_chars: number;
  manager_first: boolean;
  manager_first_secs: number;
}

export interface UserName {
  id: number;
  name: string;
}

/** One entry of the security audit log (`GET /api/security/audit`). */
export interface SecurityAuditEntry {
  id: number;
  at: string;
  actor_id: number | null;
  actor_login: string | null;
  ip: string | null;
  /** `area.verb`: `trunk.create`, `user.update`, `telephony.off`… */
  action: string;
  target: string;
  before: unknown;
  after: unknown;
}

/** A toll-fraud alert (docs/api.md, "Security"): also pushed live as a `security_alert` event. */
export interface SecurityAlert {
  id: number;
  at: string;
  kind: 'country_not_allowed' | 'international_not_permitted' | 'concurrent_calls' | 'calls_per_minute' | 'minutes_per_day' | string;
  level: 'warning' | 'blocked';
  message: string;
  user_id: number | null;
  /** For `country_not_allowed`: the country an administrator can allow. */
  country_code: string | null;
}

/** The tenant's fraud limits and allowed countries. */
export interface FraudLimits {
  max_calls_tenant: number;
  max_calls_user: number;
  calls_per_minute_user: number;
  minutes_per_day_tenant: number;
  warn_percent: number;
  allowed_countries: string[];
}
