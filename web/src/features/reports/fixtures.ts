/** Report answers for the tests (figures default to 0). */
import type { AgentsReport, Figures, Heatmap, QueuesReport, ReportPeriod, Timeline, TrunksReport } from '../../shared/api/types';

export function fig(patch: Partial<Figures> = {}): Figures {
  return {
    calls: 0, inbound: 0, inbound_answered: 0, missed: 0, outbound: 0, outbound_answered: 0, internal: 0, failed: 0,
    voicemails: 0, talk_ms: 0, hold_ms: 0, wrapup_ms: 0, wrapups: 0, queued: 0, queue_answered: 0, answer_wait_ms: 0,
    in_service_level: 0, abandoned: 0, overflowed: 0, callbacks: 0, rang_out: 0, ...patch,
  };
}

export const PERIOD: ReportPeriod = {
  from: '2026-12-01', to: '2026-12-01', previous_from: '2026-11-30', previous_to: '2026-11-30',
  starts_at: '2026-11-30T21:00:00Z', ends_at: '2026-12-01T21:00:00Z',
  previous_starts_at: '2026-11-29T21:00:00Z', previous_ends_at: '2026-11-30T21:00:00Z', time_zone: 'Europe/Moscow',
};

const states = (available_ms = 0) => ({ available_ms, break_ms: 600_000, dnd_ms: 0, wrapup_ms: 0 });

export const AGENTS: AgentsReport = {
  period: PERIOD,
  agents: [
    { user_id: 2, name: 'Ivan', figures: fig({ calls: 5, inbound: 4, inbound_answered: 3, rang_out: 1, outbound: 1, outbound_answered: 1, talk_ms: 400_000 }), states: states(3_600_000) },
    { user_id: 3, name: 'Boris', figures: fig({ calls: 7, inbound: 6, inbound_answered: 5, rang_out: 2, outbound: 1, outbound_answered: 0, talk_ms: 500_000 }), states: states(1_800_000) },
  ],
  totals: fig({ calls: 12, inbound: 10, inbound_answered: 8, missed: 2, outbound: 2, outbound_answered: 1, talk_ms: 900_000, queued: 8, in_service_level: 6, rang_out: 3 }),
  previous: fig({ calls: 10, inbound: 8, inbound_answered: 8, missed: 0, outbound: 2, outbound_answered: 2, talk_ms: 1_000_000, queued: 10, in_service_level: 5 }),
};

export const QUEUES: QueuesReport = {
  period: PERIOD,
  queues: [
    { queue_id: 3, name: 'Sales', service_level_secs: 20, figures: fig({ queued: 8, queue_answered: 6, abandoned: 2, in_service_level: 6, answer_wait_ms: 60_000 }) },
    { queue_id: null, name: null, service_level_secs: null, figures: fig({ queued: 1, abandoned: 1 }) },
  ],
  totals: fig({ queued: 9, queue_answered: 6, abandoned: 3, in_service_level: 6, answer_wait_ms: 60_000 }),
  previous: fig(),
};

export const TRUNKS: TrunksReport = {
  period: PERIOD,
  trunks: [{ slot: 1, label: 'Main line', figures: fig({ calls: 12, inbound: 10, outbound: 2, inbound_answered: 8, outbound_answered: 1, talk_ms: 900_000, failed: 1 }) }],
  totals: fig({ calls: 12, inbound: 10, outbound: 2, inbound_answered: 8, outbound_answered: 1, talk_ms: 900_000, failed: 1 }),
  previous: fig(),
};

export const TIMELINE: Timeline = {
  period: PERIOD,
  unit: 'hour',
  points: [
    { at: '2026-12-01T09:00', figures: fig({ calls: 4, inbound_answered: 3, missed: 1 }) },
    { at: '2026-12-01T10:00', figures: fig({ calls: 8, inbound_answered: 5, outbound_answered: 1, missed: 1 }) },
  ],
  previous: [{ at: '2026-11-30T09:00', figures: fig({ calls: 6 }) }],
};

export const HEATMAP: Heatmap = {
  period: PERIOD,
  cells: [
    { weekday: 2, hour: 9, figures: fig({ calls: 4 }) },
    { weekday: 2, hour: 10, figures: fig({ calls: 8 }) },
  ],
};
