/**
 * The wallboard (issue #20): the call centre's state for a TV across the room — callers waiting and
 * the longest wait (in all and per queue), agents by state, today's service level, answered and
 * abandoned calls. Full screen, no app frame, figures 6–8.5 vw high (readable at 3 m).
 *
 * Live as the presence board is: one snapshot of `GET /api/telephony/board`, then `agent_state`,
 * `agent_presence` and `board_call` news through features/board/board.ts; the queues' figures come
 * with the snapshot, read again a second after a queue's news and every 30 s. The longest wait
 * counts on every second between snapshots. A failed read keeps the figures and says so.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { QueueFigures } from '../../shared/api/types';
import { t, type MessageKey } from '../../shared/i18n';
import { formatTime } from '../../shared/i18n/format';
import { mmss } from '../../shared/ui/time';
import { href } from '../../app/router';
import { useLiveBoard } from '../board/useLiveBoard';
import { AGENT_BUCKETS, type AgentBucket, type Tone, abandonedTone, agentCounts, levelTone, longestMs, offeredLevel, queueTotals,
  totalWaitTone, waitTone } from './wallboard';

/** The queues' figures are read again this often without news. */
export const SNAPSHOT_EVERY_MS = 30_000;

const BUCKET_LABEL: Record<AgentBucket, MessageKey> = {
  available: 'wallboard.available',
  on_call: 'wallboard.onCall',
  wrapup: 'wallboard.wrapup',
  break: 'wallboard.break',
  dnd: 'wallboard.dnd',
  offline: 'wallboard.offline',
};

function Tile({ id, label, value, tone = 'ok', size = 'big' }: { id: string; label: string; value: string | number; tone?: Tone; size?: 'big' | 'mid' }) {
  return (
    <div class={`wallboard-tile wallboard-tile--${size} wallboard-tone--${tone}`} data-tone={tone}>
      <span class="wallboard-tile__value" data-testid={`wallboard-${id}`}>{value}</span>
      <span class="wallboard-tile__label">{label}</span>
    </div>
  );
}

function QueueRow({ q, age }: { q: QueueFigures; age: number }) {
  const wait = longestMs(q, age);
  const tone = waitTone(q.waiting, wait, q.service_level_secs);
  const sl = offeredLevel(q.answered_in_time, q.offered);
  return (
    <tr data-testid="wallboard-queue" data-queue={q.queue_id} data-tone={tone} class={`wallboard-tone--${tone}`}>
      <th scope="row">{q.name}</th>
      <td data-testid="wallboard-queue-waiting">{q.waiting}</td>
      <td data-testid="wallboard-queue-longest">{q.waiting > 0 ? mmss(wait) : '—'}</td>
      <td data-testid="wallboard-queue-sl" class={`wallboard-tone--${levelTone(sl)}`}>{sl === null ? '—' : `${sl}%`}</td>
    </tr>
  );
}

export function WallboardPage() {
  const { board, error, serverNow, snapshotAge } = useLiveBoard(SNAPSHOT_EVERY_MS);
  const [full, setFull] = useState(false);
  const root = useRef<HTMLElement>(null);

  useEffect(() => {
    const onFull = () => setFull(document.fullscreenElement != null);
    document.addEventListener('fullscreenchange', onFull);
    return () => document.removeEventListener('fullscreenchange', onFull);
  }, []);

  function fullScreen() {
    const el = root.current;
    if (!el?.requestFullscreen) return;
    el.requestFullscreen().catch(() => undefined);
  }

  const age = snapshotAge;
  const totals = board ? queueTotals(board.queues, age) : null;
  const agents = board ? agentCounts(board, serverNow) : null;
  return (
    <main id="main" class="wallboard" ref={root} data-testid="wallboard">
      <header class="wallboard-head">
        <h1 class="wallboard-title">{t('wallboard.title')}</h1>
        <span class="wallboard-clock" data-testid="wallboard-clock">
          {formatTime(serverNow)}
        </span>
        {error && (
          <span class="wallboard-stale" role="status" data-testid="wallboard-stale" title={error}>
            {board ? t('wallboard.stale') : t('wallboard.failed', { reason: error })}
          </span>
        )}
        <span class="wallboard-spacer" />
        {!full && (
          <button type="button" class="wallboard-button" data-testid="wallboard-fullscreen" onClick={fullScreen}>
            {t('wallboard.fullScreen')}
          </button>
        )}
        <a class="wallboard-back" href={href('/')} data-testid="wallboard-back">{t('wallboard.back')}</a>
      </header>
      {!board && !error && <p class="wallboard-loading" aria-busy="true">{t('app.loading')}</p>}
      {board && totals && agents && (
        <>
          <section class="wallboard-row wallboard-row--main" aria-label={t('wallboard.queuesNow')}>
            <Tile id="waiting" label={t('wallboard.waiting')} value={totals.waiting} tone={totalWaitTone(board.queues, age)} />
            <Tile id="longest" label={t('wallboard.longestWait')} value={totals.waiting > 0 ? mmss(totals.longestMs) : '—'}
              tone={totalWaitTone(board.queues, age)} />
            <Tile id="sl" label={t('wallboard.serviceLevel')} value={totals.serviceLevel === null ? '—' : `${totals.serviceLevel}%`}
              tone={levelTone(totals.serviceLevel)} />
          </section>
          <section class="wallboard-agents" aria-labelledby="wallboard-agents-title">
            <h2 class="wallboard-caption" id="wallboard-agents-title">
              {t('wallboard.agents')} <span data-testid="wallboard-agents-total">{agents.total}</span>
            </h2>
            <div class="wallboard-row wallboard-row--agents">
              {AGENT_BUCKETS.map((k) => (
                <Tile key={k} id={`agents-${k}`} label={t(BUCKET_LABEL[k])} value={agents[k]} size="mid" />
              ))}
            </div>
          </section>
          <section class="wallboard-row wallboard-row--today" aria-label={t('wallboard.today')}>
            <Tile id="answered" label={t('wallboard.answered')} value={totals.answered} size="mid" />
            <Tile id="abandoned" label={t('wallboard.abandoned')} value={totals.abandoned} size="mid" tone={abandonedTone(totals.abandoned)} />
            {board.queues.length > 0 && (
              <table class="wallboard-queues" data-testid="wallboard-queues">
                <thead>
                  <tr>
                    <th scope="col">{t('wallboard.queue')}</th>
                    <th scope="col">{t('wallboard.queueWaiting')}</th>
                    <th scope="col">{t('wallboard.queueLongest')}</th>
                    <th scope="col">{t('wallboard.queueSl')}</th>
                  </tr>
                </thead>
                <tbody>
                  {board.queues.map((q) => (
                    <QueueRow key={q.queue_id} q={q} age={age} />
                  ))}
                </tbody>
              </table>
            )}
          </section>
        </>
      )}
    </main>
  );
}
