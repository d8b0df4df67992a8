import { useEffect, useState } from 'preact/hooks';
import { api } from '../../../shared/api/client';
import { connectEvents } from '../../../shared/events/socket';
import type { CallCardInfo, CardMatch, CrmRecord, CrmTable } from '../../../shared/api/types';
import { describeError } from '../../../shared/api/errors';
import { t, type MessageKey } from '../../../shared/i18n';

interface LiveCall {
  id: string;
  direction: string;
  state: string;
  startedAt: number;
  answeredAt?: number;
  endedAt?: number;
}

const ENDED = ['ended', 'missed', 'refused', 'forwarded', 'failed'];

function mmss(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

/**
 * The call card: on every call of this user (ringing, dialling, answered) a card slides in
 * bottom-right with the matched client, the live state and timer, and actions: open the record,
 * create a client from the number, add the number to an existing client, a note on the call.
 * It follows `call` events of the user's own `/events` socket.
 */
export function CallCard({ userId }: { userId: number }) {
  const [call, setCall] = useState<LiveCall | null>(null);
  const [now, setNow] = useState(Date.now());

  useEffect(() => {
    const close = connectEvents({
      onMessage: (m) => {
        if (m.type !== 'call' || typeof m.call_id !== 'string') return;
        const state = String(m.state);
        setCall((c) => {
          // An inbound call answered by someone else is not ours any more.
          if (state === 'answered' && m.direction === 'inbound' && typeof m.user_id === 'number' && m.user_id !== userId) return c?.id === m.call_id ? null : c;
          if (c && c.id !== m.call_id) {
            // A new call replaces a finished card; a running call keeps its card.
            if (!c.endedAt) return c;
          }
          const base: LiveCall = c && c.id === m.call_id ? c : { id: m.call_id as string, direction: String(m.direction), state, startedAt: Date.now() };
          const next: LiveCall = { ...base, state };
          if (state === 'answered' && !next.answeredAt) next.answeredAt = Date.now();
          if (ENDED.includes(state) && !next.endedAt) next.endedAt = Date.now();
          return next;
        });
      },
    });
    const tick = setInterval(() => setNow(Date.now()), 1000);
    return () => {
      close();
      clearInterval(tick);
    };
  }, [userId]);

  if (!call) return null;
  const close = () => {
    // Closing the card of an ended call ends the after-call work (wrap-up time).
    if (call.endedAt) api.patchCall(call.id, { wrapup_done: true }).catch(() => undefined);
    setCall(null);
  };
  return <CardBody key={call.id} call={call} now={now} onClose={close} />;
}

function CardBody({ call, now, onClose }: { call: LiveCall; now: number; onClose: () => void }) {
  const [info, setInfo] = useState<CallCardInfo | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [chosen, setChosen] = useState<CardMatch | null>(null);
  const [mode, setMode] = useState<'view' | 'create' | 'attach'>('view');
  const [note, setNote] = useState('');
  const [noteSaved, setNoteSaved] = useState(false);
  const [tables, setTables] = useState<CrmTable[]>([]);

  async function load() {
    // The card can be asked before the call record is written: try again shortly.
    for (let i = 0; i < 5; i++) {
      try {
        const c = await api.callCard(call.id);
        setInfo(c);
        setChosen(c.matches.find((m) => m.record_id === c.linked_record_id) ?? (c.matches.length === 1 ? c.matches[0] : null));
        setError(null);
        return;
      } catch (e) {
        setError(describeError(e));
        await new Promise((r) => setTimeout(r, 400));
      }
    }
  }
  useEffect(() => {
    void load();
    api.crmTables().then((ts) => setTables(ts.filter((x) => x.call_table)), () => undefined);
  }, [call.id]);

  const timer = call.answeredAt ? mmss((call.endedAt ?? now) - call.answeredAt) : mmss((call.endedAt ?? now) - call.startedAt);
  const linked = (r: CrmRecord) => {
    setMode('view');
    void load();
    setChosen({ record_id: r.id, table_id: r.table_id, table_name: '', title: r.title, field_id: 0, card: [] });
  };
  return (
    <aside class="callcard" aria-label={t('card.title')} data-testid="call-card" data-state={call.state}>
      <header class="callcard__head">
        <span class={`callcard__state callcard__state--${call.state}`}>{t(`card.state.${call.state}` as MessageKey)}</span>
        <span class="callcard__timer" data-testid="card-timer">{timer}</span>
        <button type="button" class="link" aria-label={t('common.close')} onClick={onClose}>✕</button>
      </header>
      <p class="callcard__number" data-testid="card-number">{info?.number || '…'}</p>
      {error && !info && <p class="alert alert--error">{error}</p>}
      {info && info.matches.length > 1 && !chosen && (
        <div>
          <p>{info.similar ? t('card.similar') : t('card.several')}</p>
          <ul class="callcard__list">
            {info.matches.map((m) => (
              <li key={m.record_id}><button type="button" class="link" onClick={() => setChosen(m)}>{m.title} <span class="muted">({m.table_name})</span></button></li>
            ))}
          </ul>
        </div>
      )}
      {chosen && (
        <div data-testid="card-client">
          <h2 class="callcard__title">{chosen.title}</h2>
          {info?.similar && <p class="muted">{t('card.similarOne')}</p>}
          <dl class="callcard__fields">
            {chosen.card.filter((f) => f.value).map((f) => (
              <>
                <dt key={`t${f.field_id}`}>{f.name}</dt>
                <dd key={`d${f.field_id}`}>{f.value}</dd>
              </>
            ))}
          </dl>
          <a class="btn" href={`#/crm?table=${chosen.table_id}&record=${chosen.record_id}`}>{t('card.open')}</a>
        </div>
      )}
      {info && info.matches.length === 0 && !chosen && mode === 'view' && (
        <div>
          <p>{t('card.unknown')}</p>
          <button type="button" class="btn btn--primary" data-testid="card-create" onClick={() => setMode('create')}>{t('card.create')}</button>
          <button type="button" class="btn" onClick={() => setMode('attach')}>{t('card.attach')}</button>
        </div>
      )}
      {mode === 'create' && <CreateClient callId={call.id} tables={tables} onDone={linked} />}
      {mode === 'attach' && <AttachClient callId={call.id} tables={tables} onDone={linked} />}
      <form class="callcard__note" onSubmit={async (e) => {
        e.preventDefault();
        try {
          await api.patchCall(call.id, { note });
          setNoteSaved(true);
        } catch (err) {
          setError(describeError(err));
        }
      }}>
        <label class="sr-only" for={`note-${call.id}`}>{t('card.note')}</label>
        <textarea id={`note-${call.id}`} class="input" rows={2} placeholder={t('card.note')} value={note}
          onInput={(e) => {
            setNote((e.target as HTMLTextAreaElement).value);
            setNoteSaved(false);
          }} />
        <button type="submit" class="btn" disabled={!note.trim()}>{noteSaved ? t('card.noteSaved') : t('card.saveNote')}</button>
      </form>
    </aside>
  );
}

function CreateClient({ callId, tables, onDone }: { callId: string; tables: CrmTable[]; onDone: (r: CrmRecord) => void }) {
  const [table, setTable] = useState<number>(tables[0]?.id ?? 0);
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const tbl = tables.find((x) => x.id === table);
  const title = tbl?.fields.find((f) => f.is_title);
  return (
    <form onSubmit={async (e) => {
      e.preventDefault();
      if (!tbl) return;
      try {
        onDone(await api.clientFromCall(callId, tbl.id, title && name ? { [String(title.id)]: name } : {}));
      } catch (err) {
        setError(describeError(err));
      }
    }}>
      {tables.length > 1 && (
        <select class="input" aria-label={t('card.table')} value={table} onChange={(e) => setTable(Number((e.target as HTMLSelectElement).value))}>
          {tables.map((x) => <option key={x.id} value={x.id}>{x.name}</option>)}
        </select>
      )}
      <input class="input" autoFocus placeholder={title?.name ?? ''} aria-label={title?.name ?? t('card.name')} value={name} data-testid="card-name"
        onInput={(e) => setName((e.target as HTMLInputElement).value)} />
      <p class="muted">{t('card.numberFilled')}</p>
      <button type="submit" class="btn btn--primary">{t('card.createSave')}</button>
      {error && <p class="alert alert--error">{error}</p>}
    </form>
  );
}

function AttachClient({ callId, tables, onDone }: { callId: string; tables: CrmTable[]; onDone: (r: CrmRecord) => void }) {
  const [q, setQ] = useState('');
  const [found, setFound] = useState<CrmRecord[]>([]);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (q.trim().length < 2) return;
    const h = setTimeout(async () => {
      try {
        const pages = await Promise.all(tables.map((x) => api.crmRecords(x.id, { q: q.trim(), per_page: 8 })));
        setFound(pages.flatMap((p) => p.records));
      } catch (err) {
        setError(describeError(err));
      }
    }, 250);
    return () => clearTimeout(h);
  }, [q]);
  return (
    <div>
      <input class="input" type="search" autoFocus placeholder={t('card.searchClient')} aria-label={t('card.searchClient')} value={q}
        onInput={(e) => setQ((e.target as HTMLInputElement).value)} />
      <ul class="callcard__list">
        {found.map((r) => (
          <li key={r.id}>
            <button type="button" class="link" onClick={async () => {
              try {
                onDone(await api.attachCallToRecord(callId, r.id));
              } catch (err) {
                setError(describeError(err));
              }
            }}>{r.title || `#${r.id}`}</button>
          </li>
        ))}
      </ul>
      {error && <p class="alert alert--error">{error}</p>}
    </div>
  );
}
