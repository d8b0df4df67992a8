/**
 * One endpoint's delivery log, newest first: each delivery's state, attempts and last result; a row
 * opens to its attempts; Replay sends a delivery again; "Load more" follows the `next` cursor.
 */
import { Fragment } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api } from '../../shared/api/client';
import { explain, msg, say, type Msg } from '../../shared/api/errors';
import type { Attempt, Delivery, DeliveryState } from '../../shared/api/types';
import { t } from '../../shared/i18n';
import { Alert } from '../../shared/ui/Alert';
import { when } from './parts';

const STATE_BADGE: Record<DeliveryState, string> = { delivered: 'badge badge--on', failed: 'badge badge--off', pending: 'badge' };
const STATES = Object.keys(STATE_BADGE) as DeliveryState[];

/** A state the log knows; the server's `state` is a plain string and may one day hold another. */
function known(state: string): state is DeliveryState {
  return (STATES as string[]).includes(state);
}

/** An attempt's or a delivery's result: `HTTP 503`, the error, or both. */
function result(status?: number | null, error?: string | null): string {
  const parts = [status != null ? `HTTP ${status}` : '', error ?? ''].filter(Boolean);
  return parts.length ? parts.join(' — ') : '—';
}

function Attempts({ attempts }: { attempts: Attempt[] }) {
  if (attempts.length === 0) return <p class="muted">{t('integ.log.noAttempts')}</p>;
  return (
    <ol class="integ-attempts" data-testid="attempts">
      {attempts.map((a, i) => (
        <li key={i}>
          {when(a.at)} · {result(a.status, a.error)} · {t('integ.log.duration', { ms: a.duration_ms })}
        </li>
      ))}
    </ol>
  );
}

export function DeliveryLog({ webhookId }: { webhookId: number }) {
  const [rows, setRows] = useState<Delivery[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [open, setOpen] = useState<ReadonlySet<string>>(new Set());
  const [error, setError] = useState<Msg | null>(null);
  const [notice, setNotice] = useState<Msg | null>(null);
  const [busy, setBusy] = useState(false);

  /** The first page (`before` unset) replaces the rows; a later one is added after them. */
  async function load(before?: string) {
    setBusy(true);
    setError(null);
    try {
      const page = await api.webhookDeliveries(webhookId, before);
      setRows((old) => (before && old ? [...old, ...page.deliveries] : page.deliveries));
      setNext(page.next ?? null);
    } catch (e) {
      setError(explain(e));
    } finally {
      setBusy(false);
    }
  }
  useEffect(() => void load(), [webhookId]);

  async function replay(d: Delivery) {
    setError(null);
    setNotice(null);
    try {
      const q = await api.replayDelivery(webhookId, d.message_id);
      setNotice(msg('integ.log.replayed', { id: q.message_id }));
      await load();
    } catch (e) {
      setError(explain(e));
    }
  }

  const toggle = (id: string) =>
    setOpen((s) => {
      const n = new Set(s);
      if (n.has(id)) n.delete(id);
      else n.add(id);
      return n;
    });

  return (
    <div class="integ-log" data-testid="delivery-log">
      <h3>{t('integ.log.title')}</h3>
      {notice && <Alert kind="success">{say(notice)}</Alert>}
      {error && <Alert kind="error">{say(error)}</Alert>}
      {!rows && !error && <p aria-busy="true">{t('app.loading')}</p>}
      {rows && rows.length === 0 && <p class="muted">{t('integ.log.empty')}</p>}
      {rows && rows.length > 0 && (
        <table class="table">
          <thead>
            <tr>
              <th scope="col">{t('integ.log.time')}</th>
              <th scope="col">{t('integ.log.event')}</th>
              <th scope="col">{t('integ.log.state')}</th>
              <th scope="col">{t('integ.log.attempts')}</th>
              <th scope="col">{t('integ.log.last')}</th>
              <th scope="col">{t('integ.log.nextTry')}</th>
              <th scope="col"><span class="sr-only">{t('common.actions')}</span></th>
            </tr>
          </thead>
          <tbody>
            {rows.map((d) => {
              const expanded = open.has(d.message_id);
              return (
                <Fragment key={d.message_id}>
                  <tr data-testid="delivery-row" data-id={d.message_id}>
                    <td>
                      <button type="button" class="link" aria-expanded={expanded} aria-controls={`att-${d.message_id}`}
                        data-testid="delivery-toggle" onClick={() => toggle(d.message_id)}>
                        {expanded ? '▾' : '▸'} {when(d.created_at)}
                      </button>
                    </td>
                    <td><code>{d.event_type}</code></td>
                    <td><span class={known(d.state) ? STATE_BADGE[d.state] : 'badge'}>{known(d.state) ? t(`integ.log.state.${d.state}`) : d.state}</span></td>
                    <td>{d.attempts}</td>
                    <td>{result(d.last_status, d.last_error)}</td>
                    <td>{d.next_try_at ? when(d.next_try_at) : '—'}</td>
                    <td class="table__actions">
                      <button type="button" class="btn btn--small" aria-label={`${t('integ.log.replay')}: ${d.message_id}`}
                        data-testid="delivery-replay" onClick={() => void replay(d)}>
                        {t('integ.log.replay')}
                      </button>
                    </td>
                  </tr>
                  {expanded && (
                    <tr class="row--detail" id={`att-${d.message_id}`}>
                      <td colSpan={7}>
                        <Attempts attempts={d.attempts_log} />
                      </td>
                    </tr>
                  )}
                </Fragment>
              );
            })}
          </tbody>
        </table>
      )}
      {next && rows && (
        <button type="button" class="btn" data-testid="delivery-more" disabled={busy} onClick={() => void load(next)}>
          {busy ? t('app.loading') : t('integ.log.more')}
        </button>
      )}
    </div>
  );
}
