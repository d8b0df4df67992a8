/**
 * Types of the HTTP API. Every shape the server's OpenAPI document has is an alias onto the
 * generated `schema.d.ts` (web/scripts/api-types; CI fails when it drifts from the server).
 *
 * Hand-written here, because the document lacks them:
 * - the string values the UI tells apart where the document gives a plain `string`
 *   ({@link TrunkState}, {@link TrunkMode}, {@link CallDirection}): what the UI knows how to show;
 *   the server may add values, so code reading them keeps a fallback;
 * - query parameters the client builds ({@link CallFilter}, {@link RecordQuery}, {@link CrmFilter});
 * - `Record.values` and `RecordBody.values` (`{field id: value}`), which the document types as an
 *   empty object;
 * - answers the document leaves untyped (`PhoneSession.ice_servers`).
 * The `/events` messages live in shared/events/types.ts.
 */
import type { components } from './schema';

type S = components['schemas'];

export type Role = S['Role'];

export const ROLES: readonly Role[] = ['administrator', 'sub_administrator', 'user'];

export function isAdminRole(role: Role): boolean {
  return role === 'administrator' || role === 'sub_administrator';
}

export type GroupRef = S['GroupRef'];
export type User = S['User'];
export type Tenant = S['TenantInfo'];
export type Me = S['Me'];
export type Group = S['Group'];
/** The body of every 4xx/5xx answer. */
export type ErrorBody = S['ErrorBody'];
export type SignupRequest = S['SignupBody'];
export type LoginRequest = S['LoginBody'];
export type TwoFactorStatus = S['TwoFactorStatus'];
export type CreateUserRequest = S['CreateUser'];
export type UpdateUserRequest = S['PatchUser'];
export type CreateGroupRequest = S['CreateGroup'];
export type UpdateGroupRequest = S['PatchGroup'];

// --- trunks ---
export type TrunkState = 'registered' | 'rejected' | 'unregistered' | 'waiting' | 'refused';
export type TrunkMode = 'simple' | 'extended';
export type TrunkStatus = S['TrunkStatus'];
export type Trunk = S['Trunk'];
export type TrunkRequest = S['TrunkBody'];
export type TrunkPreset = S['Preset'];

// --- telephony and the phone ---
export type TelUser = S['TelUser'];
export type TelephonyState = S['TelephonyState'];
export type PhoneSession = Omit<S['PhoneSession'], 'ice_servers'> & { ice_servers: RTCIceServer[] };
export type NumberPreview = S['Preview'];
export type ProbePoint = S['ProbePoint'];
export type ProbeHistory = S['ProbeHistory'];
export type Routing = S['Routing'];
export type DialDirection = keyof S['Allowed'];
export type DialRules = S['DialRules'];
export type PhoneSetup = S['PhoneSetup'];

// --- calls and recordings ---
export type CallDirection = 'inbound' | 'outbound' | 'internal';
export type CallRecording = S['Recording'];
export type CallRecord = S['CallRecord'];
export type CallPage = S['CallPage'];
export type CallPatch = S['PatchCall'];
export type RecordingSettings = S['RecordingSettings'];
export type AuditEntry = S['AuditEntry'];

// --- the presence board (issue #18) ---
export type Board = S['Board'];
export type BoardAgent = S['BoardAgent'];
export type LiveCall = S['LiveCall'];
export type QueueFigures = S['QueueFigures'];
/** Home's figures for today (issue #20): `mine`, `to_call_back`, and `team` for supervisors. */
export type Dashboard = S['Dashboard'];

// --- queues and each trunk's first step (issue #19) ---
/** `ring_all`, `longest_idle`, `round_robin` or `fewest_calls` (the document says `string`). */
export type QueueStrategy = 'ring_all' | 'longest_idle' | 'round_robin' | 'fewest_calls';
/** `missed`, `voicemail` or `forward` (to `overflow_number`). */
export type QueueOverflow = 'missed' | 'voicemail' | 'forward';
export type Queue = S['Queue'];
export type QueueBody = S['QueueBody'];
/** `{user: id}` (a telephony user) or `{group: id}` (every telephony user of an access group). */
export type QueueMember = S['Member'];
export type FirstStep = S['FirstStep'];
export type FirstStepBody = S['FirstStepBody'];
// --- IVR menus (issue #19) ---
/**
 * A digit and where it leads (`ring_all`, `voicemail`, `queue:<id>`, `user:<id>`, `menu:<id>`,
 * `number:<number>`; a fallback may also be `hangup`). `gone`: the queue, user or menu it led to
 * was deleted — the digit rings everyone, and reads `queue:` etc.
 */
export type MenuOption = S['MenuOptionOut'];
export type Menu = S['MenuOut'];
export type MenuBody = S['MenuBody'];
export type SpeedDialEntry = S['SpeedDialEntry'];
export type SuperviseMode = S['Mode'];
export type SupervisionEntry = S['SupervisionEntry'];

/** `GET /api/calls` query parameters. */
export interface CallFilter {
  from?: string;
  to?: string;
  direction?: string;
  result?: string;
  missed?: boolean;
  /** `any`: calls with a voicemail message; `new`: messages nobody listened to yet. */
  voicemail?: '' | 'any' | 'new';
  /** Missed calls `false`: nobody has called the number back yet (the worklist); `true`: called back. */
  called_back?: '' | 'false' | 'true';
  number?: string;
  /** The calls linked to a CRM record (the client's history). */
  record_id?: number;
  sort?: string;
  order?: 'asc' | 'desc';
  page?: number;
  per_page?: number;
  // Drill-down from a report (issue #20): the calls behind one figure.
  /** The calls of one user (the user's own, or those they took). */
  user_id?: number;
  /** `'true'`: answered calls only; `'false'`: unanswered ones. */
  answered?: '' | 'true' | 'false';
  /** `'true'`: busy, failed or refused calls. */
  failed?: '' | 'true';
  /** Trunk slot (1..3). */
  trunk?: number;
  queue_id?: number;
  /** `answered`, `abandoned`, `overflow` or `callback`. */
  queue_outcome?: string;
  in_service_level?: '' | 'true' | 'false';
  /** Inbound calls that rang this user out (the user's "missed"). */
  rang_out?: number;
  group_id?: number;
  /** 1 = Monday … 7 = Sunday, in the account's time zone. */
  weekday?: number;
  /** 0..23, in the account's time zone. */
  hour?: number;
}

// --- CRM (docs/crm.md) ---
export type FieldKind = S['FieldKind'];
export type CrmField = S['Field'];
export type CrmTable = S['Table'];
/** `values`: `{field id: value}`, phone values masked for masked users. */
export type CrmRecord = Omit<S['Record'], 'values'> & { values: Record<string, unknown> };
export type RecordPage = Omit<S['RecordPage'], 'records'> & { records: CrmRecord[] };
export type CardField = S['CardField'];
export type CardMatch = S['CardMatch'];
export type CallCardInfo = S['CallCard'];
export type ImportPreview = S['ImportPreview'];
export type ImportStatus = S['ImportStatus'];
export type CrmSettings = S['CrmSettings'];
export type UserName = S['UserName'];

export type FilterOp = 'contains' | 'equals' | 'greater' | 'less' | 'empty' | 'not_empty';

export interface CrmFilter {
  field: number;
  op: FilterOp;
  value: string;
}

/** `GET /api/crm/tables/{id}/records` query parameters. */
export interface RecordQuery {
  page?: number;
  per_page?: number;
  sort?: number;
  desc?: boolean;
  q?: string;
  filters?: CrmFilter[];
  /** The previous page's `next`: the page starts after its last record. */
  after?: string;
}

// --- security ---
export type SecurityAuditEntry = S['SecurityAuditEntry'];
export type SecurityAlert = S['SecurityAlert'];
export type FraudLimits = S['FraudLimits'];
export type AgentStateOut = S['AgentStateOut'];
export type Colleague = S['Colleague'];
export type ParkedCall = S['ParkedCall'];
export type BlockedNumber = S['BlockedNumber'];
export type AgentStateSettings = S['AgentStateSettings'];

// --- reports (issue #20) ---
export type Figures = S['Figures'];
export type ReportPeriod = S['Period'];
export type AgentsReport = S['AgentsReport'];
export type AgentLine = S['AgentLine'];
export type QueuesReport = S['QueuesReport'];
export type QueueLine = S['QueueLine'];
export type TrunksReport = S['TrunksReport'];
export type TrunkLine = S['TrunkLine'];
export type Timeline = S['Timeline'];
export type TimePoint = S['TimePoint'];
export type Heatmap = S['Heatmap'];
export type HeatCell = S['HeatCell'];
/** The periods `/api/reports/*` know; `custom` needs `from` and `to`. */
export type ReportPeriodKind =
  | 'today' | 'yesterday' | 'this_week' | 'last_week' | 'this_month' | 'last_month' | 'last_7_days' | 'last_30_days' | 'custom';
/** `/api/reports/*` query parameters (the server forces `user_id` to a non-supervisor's own). */
export interface ReportQuery {
  period?: ReportPeriodKind;
  /** `YYYY-MM-DD`, with `custom` (both days included). */
  from?: string;
  to?: string;
  group_id?: number;
  user_id?: number;
  /** Trunk slot (1..3). */
  trunk?: number;
  queue_id?: number;
  direction?: CallDirection;
}
/** The reports `/api/reports/export` writes. */
export type ReportName = 'agents' | 'queues' | 'trunks' | 'timeline' | 'heatmap';

// --- integrations (issue #21): API keys, webhooks, the screen-pop URL ---
/** What an API key may do (`ApiKey.scopes`, a plain `string[]` in the document). `admin` only an Administrator may grant (403 `admins_only`). */
export type Scope = 'calls:read' | 'calls:place' | 'crm:write' | 'users:read' | 'admin';
/** Every scope, in the order the "New key" dialog lists them. */
export const SCOPES: readonly Scope[] = ['calls:read', 'calls:place', 'crm:write', 'users:read', 'admin'];
export type ApiKey = S['ApiKey'];
export type NewApiKey = S['NewApiKey'];
/** The new key and its whole token (`secret`), shown this once. */
export type CreatedApiKey = S['CreatedApiKey'];
/** The events a webhook endpoint may get (`Webhook.events`, a plain `string[]` in the document). */
export type EventType =
  | 'call.ringing' | 'call.answered' | 'call.ended' | 'call.missed' | 'recording.ready' | 'crm.record.created' | 'crm.record.changed';
/** Every event type, in the order the webhook dialog lists them. */
export const EVENT_TYPES: readonly EventType[] = [
  'call.ringing', 'call.answered', 'call.ended', 'call.missed', 'recording.ready', 'crm.record.created', 'crm.record.changed',
];
export type Webhook = S['Webhook'];
export type NewWebhook = S['NewWebhook'];
/** `enabled: true` turns a disabled endpoint (also one the server turned off) back on. */
export type WebhookPatch = S['WebhookPatch'];
/** The new endpoint and its signing secret (`whsec_…`), shown this once. */
export type CreatedWebhook = S['CreatedWebhook'];
/** A new signing secret; the previous one keeps signing for 24 hours. */
export type RotatedSecret = S['RotatedSecret'];
/** `Delivery.state` (the document says `string`): what the log knows how to show; anything else shows as it is. */
export type DeliveryState = 'pending' | 'delivered' | 'failed';
export type DeliveryPage = S['DeliveryPage'];
export type Delivery = S['Delivery'];
export type Attempt = S['Attempt'];
/** The 202 answer of "Send test event" and "Replay": the queued message's `webhook-id`. */
export type Queued = S['Queued'];
/** When the CRM page opens by itself (`open_on`, a plain `string` in the document): never, when an inbound call rings, when a call is answered. */
export type ScreenPopOpenOn = 'never' | 'ringing' | 'answer';
export const OPEN_ON: readonly ScreenPopOpenOn[] = ['never', 'ringing', 'answer'];
/** The placeholders a screen-pop template may hold (the server refuses others: 422 `unknown_placeholder`). */
export const PLACEHOLDERS = ['{caller}', '{callee}', '{direction}', '{call_id}', '{client_id}'] as const;
/** The tenant's screen-pop URL template; `url_template` "" is off. */
export type ScreenPop = S['ScreenPop'];
/** `GET /api/calls/{id}/screen-pop`: the filled URL (none: no template) and when to open it. */
export type CallScreenPop = S['CallScreenPop'];
