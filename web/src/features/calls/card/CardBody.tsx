import { useEffect, useState } from 'preact/hooks';
import { api } from '../../../shared/api/client';
import type { CallCardInfo, CardMatch, CrmRecord, CrmTable } from '../../../shared/api/types';
import { describeError } from '../../../shared/api/errors';
import { t, type MessageKey } from '../../../shared/i18n';
import { mmss } from '../../../shared/ui/time';
import { AttachClient, CreateClient } from './ClientForms';
import { ScreenPopButton } from '../../integrations/ScreenPopButton';
import type { LiveCall } from './live';

/** The card of one call: the matched client (or a choice among several), create/attach, a note. */
export function CardBody({ call, now, onClose }: { call: LiveCall; now: number; onClose: () => void }) {
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
      {call.did && <p class="muted" data-testid="card-line">{t('phone.line', { did: call.did })}</p>}
      <ScreenPopButton call={call} />
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
