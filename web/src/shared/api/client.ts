/**
 * The typed HTTP client for `/api` (see docs/api.md).
 *
 * Every unsafe request (POST/PUT/PATCH/DELETE) carries `X-CSRF-Token` equal to the `cb_csrf` cookie;
 * when the cookie is missing the client first asks `GET /api/auth/csrf` for one. Every failure is
 * turned into an {@link ApiError} with a stable `code`, so the UI can say what happened in the
 * user's language.
 */
import type {
  CallCardInfo,
  UserName,
  CrmRecord,
  CrmSettings,
  CrmTable,
  CrmField,
  FieldKind,
  ImportPreview,
  ImportStatus,
  RecordPage,
  RecordQuery,
  AuditEntry,
  SecurityAuditEntry,
  TwoFactorStatus,
  CallFilter,
  CallPage,
  CallPatch,
  CallRecord,
  RecordingSettings,
  CreateGroupRequest,
  CreateUserRequest,
  ErrorBody,
  Group,
  LoginRequest,
  Me,
  Menu,
  MenuBody,
  SignupRequest,
  DialRules,
  NumberPreview,
  PhoneSession,
  PhoneSetup,
  ProbeHistory,
  Routing,
  TelUser,
  SecurityAlert,
  FraudLimits,
  TelephonyState,
  Trunk,
  TrunkPreset,
  TrunkRequest,
  UpdateGroupRequest,
  UpdateUserRequest,
  User,
  AgentsReport,
  QueuesReport,
  TrunksReport,
  Timeline,
  Heatmap,
  ReportQuery,
  ReportName,
  ApiKey,
  NewApiKey,
  CreatedApiKey,
  Webhook,
  NewWebhook,
  WebhookPatch,
  CreatedWebhook,
  RotatedSecret,
  DeliveryPage,
  Queued,
  ScreenPop,
  CallScreenPop,
} from './types';
import type { components } from './schema';

type S = components['schemas'];

/** Names the CSRF cookie can have: plain, or with the `__Host-` prefix behind HTTPS. */
const CSRF_COOKIES = ['cb_csrf', '__Host-cb_csrf'];

/** Codes the client itself produces when there is no JSON error body to read. */
export type ClientErrorCode = 'network' | 'bad_response';

export class ApiError extends Error {
  constructor(
    /** HTTP status; 0 when the request never got an answer. */
    readonly status: number,
    /** The server's stable code (`login_taken`, `throttled`…) or a {@link ClientErrorCode}. */
    readonly code: string,
    /** The server's human message (English), or a technical description. */
    message: string,
    /** Seconds to wait, from `Retry-After` on 429 answers. */
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export function isApiError(e: unknown): e is ApiError {
  return e instanceof ApiError;
}

/** Reads one cookie from a `document.cookie`-style string. */
export function readCookie(cookies: string, name: string): string | undefined {
  for (const part of cookies.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) {
      const value = part.slice(eq + 1).trim();
      try {
        return decodeURIComponent(value);
      } catch {
        return value;
      }
    }
  }
  return undefined;
}

export interface ClientOptions {
  fetch?: typeof fetch;
  /** Returns the current `document.cookie`. */
  cookies?: () => string;
  /** Called when an answer says the session is gone (401 `unauthenticated`). */
  onUnauthenticated?: () => void;
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

function parseRetryAfter(value: string | null): number | undefined {
  if (!value) return undefined;
  const secs = Number(value);
  if (Number.isFinite(secs) && secs >= 0) return Math.ceil(secs);
  const date = Date.parse(value);
  if (!Number.isNaN(date)) return Math.max(0, Math.ceil((date - Date.now()) / 1000));
  return undefined;
}

function isErrorBody(v: unknown): v is ErrorBody {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as ErrorBody).code === 'string' &&
    typeof (v as ErrorBody).message === 'string'
  );
}

export class ApiClient {
  private readonly fetchImpl: typeof fetch;
  private readonly cookies: () => string;
  /** Called when an answer says the session is gone (401 `unauthenticated`). */
  onUnauthenticated?: () => void;
  /** The token from the last `Me` or `/api/auth/csrf` answer; used when the cookie is unreadable. */
  private knownToken?: string;

  constructor(opts: ClientOptions = {}) {
    this.fetchImpl = opts.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.cookies = opts.cookies ?? (() => (typeof document === 'undefined' ? '' : document.cookie));
    this.onUnauthenticated = opts.onUnauthenticated;
  }

  private cookieToken(): string | undefined {
    const all = this.cookies();
    for (const name of CSRF_COOKIES) {
      const v = readCookie(all, name);
      if (v) return v;
    }
    return undefined;
  }

  /** The token to send, fetching one from the server when there is none yet. */
  private async csrfToken(): Promise<string> {
    const fromCookie = this.cookieToken();
    if (fromCookie) return fromCookie;
    if (this.knownToken) return this.knownToken;
    const { csrf } = await this.request<{ csrf: string }>('GET', '/api/auth/csrf');
    this.knownToken = csrf;
    return this.cookieToken() ?? csrf;
  }

  private remember<T>(value: T): T {
    const me = value as unknown as Partial<Me> | undefined;
    if (me && typeof me === 'object' && typeof me.csrf === 'string') this.knownToken = me.csrf;
    return value;
  }

  /** Sends one request; resolves with the parsed JSON body (or `undefined` for 204). */
  async request<T>(method: Method, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (method !== 'GET') headers['X-CSRF-Token'] = await this.csrfToken();

    let res: Response;
    try {
      res = await this.fetchImpl(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'same-origin',
      });
    } catch (e) {
      throw new ApiError(0, 'network', e instanceof Error ? e.message : String(e));
    }

    if (res.status === 204) return undefined as T;
    const text = await res.text();
    let json: unknown = undefined;
    if (text) {
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
    }

    if (res.ok) {
      if (json === undefined && text) {
        throw new ApiError(res.status, 'bad_response', `expected JSON from ${path}`);
      }
      return json as T;
    }

    const retryAfter = parseRetryAfter(res.headers.get('Retry-After'));
    const err = isErrorBody(json)
      ? new ApiError(res.status, json.code, json.message, retryAfter)
      : new ApiError(res.status, 'bad_response', `HTTP ${res.status} from ${path}`, retryAfter);
    if (err.status === 401 && err.code === 'unauthenticated') this.onUnauthenticated?.();
    throw err;
  }

  /**
   * Sends an unsafe request; if the server says the CSRF token is wrong (e.g. the cookie expired),
   * fetches a fresh token once and retries.
   */
  private async send<T>(method: Exclude<Method, 'GET'>, path: string, body?: unknown): Promise<T> {
    try {
      return await this.request<T>(method, path, body);
    } catch (e) {
      if (isApiError(e) && e.status === 403 && e.code === 'csrf') {
        this.knownToken = undefined;
        const { csrf } = await this.request<{ csrf: string }>('GET', '/api/auth/csrf');
        this.knownToken = csrf;
        return this.request<T>(method, path, body);
      }
      throw e;
    }
  }

  // --- auth ---
  async signup(req: SignupRequest): Promise<Me> {
    return this.remember(await this.send<Me>('POST', '/api/signup', req));
  }
  async login(req: LoginRequest): Promise<Me> {
    return this.remember(await this.send<Me>('POST', '/api/auth/login', req));
  }
  twoFactorStatus(): Promise<TwoFactorStatus> {
    return this.request('GET', '/api/auth/two-factor');
  }
  twoFactorSetup(): Promise<S['TwoFactorSetup']> {
    return this.send('POST', '/api/auth/two-factor/setup');
  }
  twoFactorEnable(code: string): Promise<S['RecoveryCodes']> {
    return this.send('POST', '/api/auth/two-factor/enable', { code });
  }
  twoFactorDisable(password: string): Promise<void> {
    return this.send('POST', '/api/auth/two-factor/disable', { password });
  }
  setTwoFactorPolicy(requireForAdmins: boolean): Promise<S['TwoFactorPolicy']> {
    return this.send('PUT', '/api/security/two-factor', { require_for_admins: requireForAdmins });
  }
  async logout(): Promise<void> {
    await this.send<void>('POST', '/api/auth/logout');
    this.knownToken = undefined;
  }
  async me(): Promise<Me> {
    return this.remember(await this.request<Me>('GET', '/api/auth/me'));
  }

  // --- users ---
  listUsers(): Promise<User[]> {
    return this.request('GET', '/api/users');
  }
  getUser(id: number): Promise<User> {
    return this.request('GET', `/api/users/${id}`);
  }
  createUser(req: CreateUserRequest): Promise<User> {
    return this.send('POST', '/api/users', req);
  }
  updateUser(id: number, req: UpdateUserRequest): Promise<User> {
    return this.send('PATCH', `/api/users/${id}`, req);
  }

  // --- security ---
  securityAudit(beforeId?: number, limit = 50): Promise<SecurityAuditEntry[]> {
    const q = new URLSearchParams({ limit: String(limit) });
    if (beforeId !== undefined) q.set('before_id', String(beforeId));
    return this.request('GET', `/api/security/audit?${q}`);
  }

  // --- access groups ---
  listGroups(): Promise<Group[]> {
    return this.request('GET', '/api/groups');
  }
  createGroup(req: CreateGroupRequest): Promise<Group> {
    return this.send('POST', '/api/groups', req);
  }
  updateGroup(id: number, req: UpdateGroupRequest): Promise<Group> {
    return this.send('PATCH', `/api/groups/${id}`, req);
  }
  deleteGroup(id: number): Promise<void> {
    return this.send('DELETE', `/api/groups/${id}`);
  }

  // --- trunks ---
  listTrunks(): Promise<Trunk[]> {
    return this.request('GET', '/api/trunks');
  }
  createTrunk(req: TrunkRequest): Promise<Trunk> {
    return this.send('POST', '/api/trunks', req);
  }
  updateTrunk(id: number, req: TrunkRequest): Promise<Trunk> {
    return this.send('PATCH', `/api/trunks/${id}`, req);
  }
  deleteTrunk(id: number): Promise<void> {
    return this.send('DELETE', `/api/trunks/${id}`);
  }
  reorderTrunks(ids: number[]): Promise<Trunk[]> {
    return this.send('PUT', '/api/trunks/order', { ids });
  }
  trunkPresets(): Promise<TrunkPreset[]> {
    return this.request('GET', '/api/trunks/presets');
  }
  rewritePreview(rewrite: string, sample: string): Promise<S['RewriteResult']> {
    return this.send('POST', '/api/trunks/rewrite-preview', { rewrite, sample });
  }

  // Telephony state and the browser phone (docs/api.md).
  telephonyState(): Promise<TelephonyState> {
    return this.request('GET', '/api/telephony');
  }
  phoneSession(): Promise<PhoneSession> {
    return this.send('POST', '/api/phone/session');
  }
  phoneStatus(): Promise<S['PhoneStatus']> {
    return this.request('GET', '/api/phone/status');
  }
  previewNumber(number: string): Promise<NumberPreview> {
    return this.send('POST', '/api/telephony/dial-rules/preview', { number });
  }
  /** Pauses or resumes the recording of the caller's own running call (where the tenant allows it). */
  /** Asterisk's RTP counters of the caller's running call (the phone's audio diagnosis). */
  callMedia(callId: string): Promise<S['CallMedia']> {
    return this.request('GET', `/api/calls/${encodeURIComponent(callId)}/media`);
  }
  putCallQuality(callId: string, q: S['Quality']): Promise<void> {
    return this.send('PUT', `/api/calls/${encodeURIComponent(callId)}/quality`, q);
  }
  /** Stores the signed-in agent's preflight result (the test call to the platform echo). */
  postPreflight(p: S['Preflight']): Promise<void> {
    return this.send('POST', '/api/phone/preflight', p);
  }
  /** The last preflight result of each agent (administrators). */
  preflightResults(): Promise<S['PreflightRow'][]> {
    return this.request('GET', '/api/telephony/preflight');
  }
  callQuality(callId: string): Promise<S['Quality']> {
    return this.request('GET', `/api/calls/${encodeURIComponent(callId)}/quality`);
  }
  pauseRecording(callId: string, paused: boolean): Promise<void> {
    return this.send('PUT', `/api/calls/${encodeURIComponent(callId)}/recording/paused`, { paused });
  }
  transferCall(callId: string, target: string): Promise<void> {
    return this.send('POST', `/api/calls/${encodeURIComponent(callId)}/transfer`, { target });
  }
  /** Attended transfer: the customer waits on hold while the agent consults `target`. */
  consultCall(callId: string, target: string): Promise<void> {
    return this.send('POST', `/api/calls/${encodeURIComponent(callId)}/consult`, { target });
  }
  /** Ends the consultation: back to the customer, or `complete`: the customer goes to the consulted party. */
  endConsult(callId: string, complete: boolean): Promise<void> {
    return this.send('POST', `/api/calls/${encodeURIComponent(callId)}/consult/end`, { complete });
  }
  /** Parks the caller's call (the next free slot from `slot`). */
  parkCall(callId: string, slot?: number): Promise<void> {
    return this.send('POST', `/api/calls/${encodeURIComponent(callId)}/park`, slot ? { slot } : {});
  }
  /** The tenant's parked calls, by slot. */
  parkedCalls(): Promise<S['ParkedCall'][]> {
    return this.request('GET', '/api/telephony/parked');
  }
  /** The caller's colleagues with their live state (transfer targets). */
  colleagues(): Promise<S['Colleague'][]> {
    return this.request('GET', '/api/telephony/colleagues');
  }
  /** The caller's own agent state (issue #18). */
  myAgentState(): Promise<S['AgentStateOut']> {
    return this.request('GET', '/api/telephony/me/state');
  }
  setMyAgentState(state: string, reason?: string): Promise<S['AgentStateOut']> {
    return this.send('PUT', '/api/telephony/me/state', { state, reason });
  }
  agentSettings(): Promise<S['AgentStateSettings']> {
    return this.request('GET', '/api/telephony/agent-settings');
  }
  putAgentSettings(s: S['AgentStateSettings']): Promise<S['AgentStateSettings']> {
    return this.send('PUT', '/api/telephony/agent-settings', s);
  }
  /** Home's figures for today: the user's own, and the account's for supervisors (`team`, else null). */
  dashboard(): Promise<S['Dashboard']> {
    return this.request('GET', '/api/reports/dashboard');
  }
  /** The live presence board's snapshot (supervisors; then `agent_state`/`board_call` events). */
  board(): Promise<S['Board']> {
    return this.request('GET', '/api/telephony/board');
  }
  // --- reports (issue #20): a non-supervisor gets their own figures; queues and trunks answer 403 to them ---
  /** The query string of a report query (`?period=…`), empty values left out. */
  static reportQuery(q: ReportQuery): string {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(q)) {
      if (v === undefined || v === null || v === '') continue;
      if ((k === 'from' || k === 'to') && q.period !== 'custom') continue;
      p.set(k, String(v));
    }
    const s = p.toString();
    return s ? `?${s}` : '';
  }
  reportAgents(q: ReportQuery): Promise<AgentsReport> {
    return this.request('GET', `/api/reports/agents${ApiClient.reportQuery(q)}`);
  }
  reportQueues(q: ReportQuery): Promise<QueuesReport> {
    return this.request('GET', `/api/reports/queues${ApiClient.reportQuery(q)}`);
  }
  reportTrunks(q: ReportQuery): Promise<TrunksReport> {
    return this.request('GET', `/api/reports/trunks${ApiClient.reportQuery(q)}`);
  }
  reportTimeline(q: ReportQuery): Promise<Timeline> {
    return this.request('GET', `/api/reports/timeline${ApiClient.reportQuery(q)}`);
  }
  reportHeatmap(q: ReportQuery): Promise<Heatmap> {
    return this.request('GET', `/api/reports/heatmap${ApiClient.reportQuery(q)}`);
  }
  /** The download link of one report as CSV or XLSX (a plain `<a href download>`). */
  static reportExportUrl(report: ReportName, format: 'csv' | 'xlsx', q: ReportQuery): string {
    const rest = ApiClient.reportQuery(q).slice(1);
    return `/api/reports/export?report=${report}&format=${format}${rest ? `&${rest}` : ''}`;
  }
  /** Listen to, whisper to or barge in on a connected call: the supervisor's own phone rings. */
  supervise(callId: string, mode: S['Mode']): Promise<S['SupervisionStarted']> {
    return this.send('POST', `/api/telephony/board/calls/${encodeURIComponent(callId)}/supervise`, { mode });
  }
  /** Who listened to whom, when and for how long (administrators). */
  supervisions(): Promise<S['SupervisionEntry'][]> {
    return this.request('GET', '/api/telephony/supervisions');
  }
  agentStates(): Promise<S['AgentStateOut'][]> {
    return this.request('GET', '/api/telephony/states');
  }
  callback(number: string): Promise<S['CallbackStarted']> {
    return this.send('POST', '/api/calls/callback', { number });
  }
  /** Desk-phone click-to-call of a CRM phone field (works when numbers are masked). */
  callbackSpeedDial(speed_dial_id: number): Promise<S['CallbackStarted']> {
    return this.send('POST', '/api/calls/callback', { speed_dial_id });
  }
  /** Speed dial (issue #18): the entries of the caller's groups, and the administrators' list. */
  mySpeedDials(): Promise<S['SpeedDialEntry'][]> {
    return this.request('GET', '/api/telephony/me/speed-dials');
  }
  speedDials(): Promise<S['SpeedDialEntry'][]> {
    return this.request('GET', '/api/telephony/speed-dials');
  }
  createSpeedDial(b: S['SpeedDialBody']): Promise<S['SpeedDialEntry']> {
    return this.send('POST', '/api/telephony/speed-dials', b);
  }
  deleteSpeedDial(id: number): Promise<void> {
    return this.send('DELETE', `/api/telephony/speed-dials/${id}`);
  }
  /** The tenant's blocked caller numbers (administrators). */
  blocklist(): Promise<S['BlockedNumber'][]> {
    return this.request('GET', '/api/telephony/blocklist');
  }
  blockNumber(number: string, note: string, action = 'reject'): Promise<S['BlockedNumber']> {
    return this.send('POST', '/api/telephony/blocklist', { number, note, action });
  }
  unblockNumber(id: number): Promise<void> {
    return this.send('DELETE', `/api/telephony/blocklist/${id}`);
  }
  /** Queues (issue #19): the tenant's queues with their members (administrators). */
  queues(): Promise<S['Queue'][]> {
    return this.request('GET', '/api/telephony/queues');
  }
  createQueue(b: S['QueueBody']): Promise<S['Queue']> {
    return this.send('POST', '/api/telephony/queues', b);
  }
  updateQueue(id: number, b: S['QueueBody']): Promise<S['Queue']> {
    return this.send('PUT', `/api/telephony/queues/${id}`, b);
  }
  deleteQueue(id: number): Promise<void> {
    return this.send('DELETE', `/api/telephony/queues/${id}`);
  }
  /** Where each trunk's inbound calls go first: everyone, a queue, one user or a menu (`id`: the trunk's). */
  firstSteps(): Promise<S['FirstStep'][]> {
    return this.request('GET', '/api/telephony/first-steps');
  }
  setFirstStep(trunkId: number, b: S['FirstStepBody']): Promise<void> {
    return this.send('PUT', `/api/telephony/first-steps/${trunkId}`, b);
  }
  /** IVR menus (issue #19): greeting, digits, timeout and retries, fallback (administrators). */
  menus(): Promise<Menu[]> {
    return this.request('GET', '/api/telephony/menus');
  }
  createMenu(b: MenuBody): Promise<Menu> {
    return this.send('POST', '/api/telephony/menus', b);
  }
  updateMenu(id: number, b: MenuBody): Promise<Menu> {
    return this.send('PUT', `/api/telephony/menus/${id}`, b);
  }
  deleteMenu(id: number): Promise<void> {
    return this.send('DELETE', `/api/telephony/menus/${id}`);
  }
  /** Uploads a menu's greeting (MP3 or WAV, up to 10 MB) as the raw request body. */
  uploadMenuGreeting(id: number, file: Blob): Promise<S['Greeting']> {
    return this.raw('PUT', `/api/telephony/menus/${id}/greeting`, file, file.type || 'application/octet-stream');
  }
  deleteMenuGreeting(id: number): Promise<void> {
    return this.send('DELETE', `/api/telephony/menus/${id}/greeting`);
  }
  callbackRecord(record_id: number, field_id: number): Promise<S['CallbackStarted']> {
    return this.send('POST', '/api/calls/callback', { record_id, field_id });
  }

  // CRM (docs/crm.md).
  crmTables(): Promise<CrmTable[]> {
    return this.request('GET', '/api/crm/tables');
  }
  createCrmTable(name: string): Promise<CrmTable> {
    return this.send('POST', '/api/crm/tables', { name });
  }
  updateCrmTable(id: number, patch: S['PatchTable']): Promise<CrmTable> {
    return this.send('PATCH', `/api/crm/tables/${id}`, patch);
  }
  deleteCrmTable(id: number): Promise<void> {
    return this.send('DELETE', `/api/crm/tables/${id}`);
  }
  createCrmField(table: number, req: Omit<S['CreateField'], 'kind'> & { kind: FieldKind }): Promise<CrmField> {
    return this.send('POST', `/api/crm/tables/${table}/fields`, req);
  }
  deleteCrmField(table: number, field: number): Promise<void> {
    return this.send('DELETE', `/api/crm/tables/${table}/fields/${field}`);
  }
  static recordQuery(q: RecordQuery): string {
    const p = new URLSearchParams();
    if (q.page) p.set('page', String(q.page));
    if (q.per_page) p.set('per_page', String(q.per_page));
    if (q.sort) p.set('sort', String(q.sort));
    if (q.desc) p.set('desc', 'true');
    if (q.q) p.set('q', q.q);
    if (q.filters && q.filters.length) p.set('filters', JSON.stringify(q.filters));
    if (q.after) p.set('after', q.after);
    const s = p.toString();
    return s ? `?${s}` : '';
  }
  crmRecords(table: number, q: RecordQuery): Promise<RecordPage> {
    return this.request('GET', `/api/crm/tables/${table}/records${ApiClient.recordQuery(q)}`);
  }
  crmRecord(id: number): Promise<CrmRecord> {
    return this.request('GET', `/api/crm/records/${id}`);
  }
  createCrmRecord(table: number, values: Record<string, unknown>): Promise<CrmRecord> {
    return this.send('POST', `/api/crm/tables/${table}/records`, { values });
  }
  updateCrmRecord(id: number, values: Record<string, unknown>): Promise<CrmRecord> {
    return this.send('PATCH', `/api/crm/records/${id}`, { values });
  }
  deleteCrmRecord(id: number): Promise<void> {
    return this.send('DELETE', `/api/crm/records/${id}`);
  }
  uploadImport(table: number, file: Blob, delimiter = 'auto'): Promise<ImportPreview> {
    return this.raw('POST', `/api/crm/tables/${table}/imports?delimiter=${encodeURIComponent(delimiter)}`, file, 'text/csv');
  }
  runImport(id: string, mapping: (number | null)[], skip_invalid: boolean): Promise<ImportStatus> {
    return this.send('POST', `/api/crm/imports/${id}/run`, { mapping, skip_invalid });
  }
  importStatus(id: string): Promise<ImportStatus> {
    return this.request('GET', `/api/crm/imports/${id}`);
  }
  callCard(callId: string): Promise<CallCardInfo> {
    return this.request('GET', `/api/calls/${encodeURIComponent(callId)}/card`);
  }
  clientFromCall(callId: string, table_id: number, values: Record<string, unknown>): Promise<CrmRecord> {
    return this.send('POST', `/api/calls/${encodeURIComponent(callId)}/client`, { table_id, values });
  }
  attachCallToRecord(callId: string, record_id: number): Promise<CrmRecord> {
    return this.send('POST', `/api/calls/${encodeURIComponent(callId)}/attach`, { record_id });
  }
  crmUsers(): Promise<UserName[]> {
    return this.request('GET', '/api/crm/users');
  }
  crmSettings(): Promise<CrmSettings> {
    return this.request('GET', '/api/crm/settings');
  }
  setCrmSettings(s: CrmSettings): Promise<CrmSettings> {
    return this.send('PUT', '/api/crm/settings', s);
  }

  // Telephony settings (administrators).
  enableTelephony(): Promise<S['Enabled']> {
    return this.send('POST', '/api/telephony/enable');
  }
  disableTelephony(confirm_account: string): Promise<S['Disabled']> {
    return this.send('POST', '/api/telephony/disable', { confirm_account });
  }
  listTelUsers(): Promise<TelUser[]> {
    return this.request('GET', '/api/telephony/users');
  }
  createTelUser(req: S['CreateTelUser']): Promise<TelUser> {
    return this.send('POST', '/api/telephony/users', req);
  }
  updateTelUser(userId: number, req: S['PatchTelUser']): Promise<TelUser> {
    return this.send('PATCH', `/api/telephony/users/${userId}`, req);
  }
  deleteTelUser(userId: number): Promise<void> {
    return this.send('DELETE', `/api/telephony/users/${userId}`);
  }
  newTelPassword(userId: number): Promise<TelUser> {
    return this.send('POST', `/api/telephony/users/${userId}/password`);
  }
  securityAlerts(limit = 20): Promise<SecurityAlert[]> {
    return this.request('GET', `/api/security/alerts?limit=${limit}`);
  }
  fraudLimits(): Promise<FraudLimits> {
    return this.request('GET', '/api/security/settings');
  }
  allowCountry(country_code: string): Promise<FraudLimits> {
    return this.send('POST', '/api/security/countries', { country_code });
  }
  disallowCountry(code: string): Promise<FraudLimits> {
    return this.send('DELETE', `/api/security/countries/${encodeURIComponent(code)}`);
  }
  provisioning(): Promise<S['Provisioning']> {
    return this.request('GET', '/api/telephony/provisioning');
  }
  setProvisioning(group_ids: number[]): Promise<S['Provisioning']> {
    return this.send('PUT', '/api/telephony/provisioning', { group_ids });
  }
  probeHistory(hours = 24): Promise<ProbeHistory> {
    return this.request('GET', `/api/telephony/probe?hours=${hours}`);
  }
  setProbeNumber(probe_number: string | null): Promise<S['ProbeSettings']> {
    return this.send('PUT', '/api/telephony/probe', { probe_number });
  }
  routing(): Promise<Routing> {
    return this.request('GET', '/api/telephony/routing');
  }
  setRouting(r: Routing): Promise<Routing> {
    return this.send('PUT', '/api/telephony/routing', r);
  }
  dialRules(): Promise<DialRules> {
    return this.request('GET', '/api/telephony/dial-rules');
  }
  setDialRules(r: DialRules): Promise<DialRules> {
    return this.send('PUT', '/api/telephony/dial-rules', r);
  }
  previewWithRules(number: string, rules: DialRules): Promise<NumberPreview> {
    return this.send('POST', '/api/telephony/dial-rules/preview', { number, rules });
  }
  /** Uploads the inbound greeting (MP3 or WAV) as the raw request body. */
  uploadGreeting(file: Blob): Promise<S['Greeting']> {
    return this.raw('PUT', '/api/telephony/greeting', file, file.type || 'application/octet-stream');
  }
  /** An unsafe request whose body is a file, not JSON. */
  private async raw<T>(method: 'POST' | 'PUT', path: string, body: Blob, contentType: string): Promise<T> {
    const headers = { Accept: 'application/json', 'Content-Type': contentType, 'X-CSRF-Token': await this.csrfToken() };
    let res: Response;
    try {
      res = await this.fetchImpl(path, { method, headers, body, credentials: 'same-origin' });
    } catch (e) {
      throw new ApiError(0, 'network', e instanceof Error ? e.message : String(e));
    }
    const parsed = await res.json().catch(() => null);
    if (!res.ok) throw new ApiError(res.status, parsed?.code ?? 'bad_response', parsed?.message ?? res.statusText);
    return parsed as T;
  }
  deleteGreeting(): Promise<void> {
    return this.send('DELETE', '/api/telephony/greeting');
  }
  /** Business hours (issue #19): the schedule, whether it says open now, the closed greeting. */
  hours(): Promise<S['Hours']> {
    return this.request('GET', '/api/telephony/hours');
  }
  setHours(h: S['HoursBody']): Promise<S['Hours']> {
    return this.send('PUT', '/api/telephony/hours', h);
  }
  hoursNow(): Promise<S['OpenNow']> {
    return this.request('GET', '/api/telephony/hours/now');
  }
  uploadClosedGreeting(file: Blob): Promise<S['Greeting']> {
    return this.raw('PUT', '/api/telephony/hours/greeting', file, file.type || 'application/octet-stream');
  }
  deleteClosedGreeting(): Promise<void> {
    return this.send('DELETE', '/api/telephony/hours/greeting');
  }
  /** The query string of a call filter (also used for the CSV export link). */
  static callQuery(f: CallFilter): string {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(f)) {
      if (v === undefined || v === '' || v === false) continue;
      q.set(k, String(v));
    }
    const s = q.toString();
    return s ? `?${s}` : '';
  }
  calls(f: CallFilter): Promise<CallPage> {
    return this.request('GET', `/api/calls${ApiClient.callQuery(f)}`);
  }
  patchCall(id: string, p: CallPatch): Promise<CallRecord> {
    return this.send('PATCH', `/api/calls/${id}`, p);
  }
  recordingSettings(): Promise<RecordingSettings> {
    return this.request('GET', '/api/telephony/recording');
  }
  setRecordingSettings(s: RecordingSettings): Promise<RecordingSettings> {
    return this.send('PUT', '/api/telephony/recording', s);
  }
  recordingAudit(): Promise<AuditEntry[]> {
    return this.request('GET', '/api/calls/audit');
  }
  /**
   * Downloads `records.zip` of the given calls, reporting progress (bytes received of the archive's
   * size, which the server sends exactly); resolves with the archive.
   */
  async recordingsZip(ids: string[], onProgress: (received: number, total: number) => void): Promise<Blob> {
    const headers = { Accept: 'application/zip', 'Content-Type': 'application/json', 'X-CSRF-Token': await this.csrfToken() };
    let res: Response;
    try {
      res = await this.fetchImpl('/api/calls/recordings.zip', { method: 'POST', headers, body: JSON.stringify({ ids }), credentials: 'same-origin' });
    } catch (e) {
      throw new ApiError(0, 'network', e instanceof Error ? e.message : String(e));
    }
    if (!res.ok) {
      const body = await res.json().catch(() => null);
      throw new ApiError(res.status, body?.code ?? 'bad_response', body?.message ?? res.statusText);
    }
    const total = Number(res.headers.get('Content-Length') ?? 0);
    if (!res.body) return res.blob();
    const reader = res.body.getReader();
    const parts: BlobPart[] = [];
    let received = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
      received += value.length;
      onProgress(received, total);
    }
    if (total && received !== total) throw new ApiError(0, 'network', 'the download was cut short');
    return new Blob(parts, { type: 'application/zip' });
  }
  phoneSetup(): Promise<PhoneSetup> {
    return this.request('GET', '/api/telephony/me/phone-setup');
  }
  newPhoneSetupPassword(): Promise<S['NewSecret']> {
    return this.send('POST', '/api/telephony/me/phone-setup/password');
  }

  // --- integrations (issue #21; administrators and sub-administrators) ---
  /** The account's API keys, newest first, revoked ones included. */
  apiKeys(): Promise<ApiKey[]> {
    return this.request('GET', '/api/integrations/keys');
  }
  createApiKey(b: NewApiKey): Promise<CreatedApiKey> {
    return this.send('POST', '/api/integrations/keys', b);
  }
  revokeApiKey(id: number): Promise<void> {
    return this.send('DELETE', `/api/integrations/keys/${id}`);
  }
  webhooks(): Promise<Webhook[]> {
    return this.request('GET', '/api/integrations/webhooks');
  }
  createWebhook(b: NewWebhook): Promise<CreatedWebhook> {
    return this.send('POST', '/api/integrations/webhooks', b);
  }
  updateWebhook(id: number, p: WebhookPatch): Promise<Webhook> {
    return this.send('PATCH', `/api/integrations/webhooks/${id}`, p);
  }
  deleteWebhook(id: number): Promise<void> {
    return this.send('DELETE', `/api/integrations/webhooks/${id}`);
  }
  rotateWebhookSecret(id: number): Promise<RotatedSecret> {
    return this.send('POST', `/api/integrations/webhooks/${id}/rotate`);
  }
  /** Queues a `ping` event to the endpoint. */
  testWebhook(id: number): Promise<Queued> {
    return this.send('POST', `/api/integrations/webhooks/${id}/test`);
  }
  /** One page of the endpoint's deliveries, newest first; `before`: the previous page's `next`. */
  webhookDeliveries(id: number, before?: string | null, limit = 50): Promise<DeliveryPage> {
    const q = new URLSearchParams();
    if (before) q.set('before', before);
    q.set('limit', String(limit));
    return this.request('GET', `/api/integrations/webhooks/${id}/deliveries?${q}`);
  }
  replayDelivery(id: number, messageId: string): Promise<Queued> {
    return this.send('POST', `/api/integrations/webhooks/${id}/deliveries/${encodeURIComponent(messageId)}/replay`);
  }
  screenPop(): Promise<ScreenPop> {
    return this.request('GET', '/api/integrations/screen-pop');
  }
  setScreenPop(s: ScreenPop): Promise<ScreenPop> {
    return this.send('PUT', '/api/integrations/screen-pop', s);
  }
  /** The screen-pop of one call the user sees (any signed-in user). */
  callScreenPop(callId: string): Promise<CallScreenPop> {
    return this.request('GET', `/api/calls/${encodeURIComponent(callId)}/screen-pop`);
  }
}

/** The app's one client, talking to the same origin. */
export const api = new ApiClient();
