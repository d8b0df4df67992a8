-- Report aggregates (issue #20): reports read these, never the raw calls. One row per tenant,
-- 15-minute UTC bucket of the call's start, agent, trunk, queue and direction; a bucket of 15
-- minutes belongs to one local hour in every time zone in use (offsets are whole quarter hours),
-- so a report in the tenant's zone groups buckets by local day and hour.
--
-- Kept by a trigger on `calls`: a row counts once it has ended; any later change to what a report
-- reads (the wrap-up written by the card, hold, the agent, the result, the queue) takes the old
-- contribution off and puts the new one on, and a deleted call (retention, telephony off) takes
-- its contribution off — every path that touches calls keeps the figures right, with no second
-- writer to forget.
CREATE TABLE call_stats (
    tenant_id        bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    bucket           timestamptz NOT NULL,
    user_id          bigint NOT NULL DEFAULT 0,
    trunk_slot       smallint NOT NULL DEFAULT 0,
    queue_id         bigint NOT NULL DEFAULT 0,
    direction        text NOT NULL,
    calls            integer NOT NULL DEFAULT 0,
    answered         integer NOT NULL DEFAULT 0,
    missed           integer NOT NULL DEFAULT 0,
    failed           integer NOT NULL DEFAULT 0,
    talk_ms          bigint NOT NULL DEFAULT 0,
    hold_ms          bigint NOT NULL DEFAULT 0,
    wrapup_ms        bigint NOT NULL DEFAULT 0,
    wrapups          integer NOT NULL DEFAULT 0,
    queued           integer NOT NULL DEFAULT 0,
    queue_wait_ms    bigint NOT NULL DEFAULT 0,
    queue_answered   integer NOT NULL DEFAULT 0,
    abandoned        integer NOT NULL DEFAULT 0,
    overflowed       integer NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, bucket, user_id, trunk_slot, queue_id, direction)
);

ALTER TABLE call_stats ENABLE ROW LEVEL SECURITY;
ALTER TABLE call_stats FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON call_stats
    USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON call_stats TO callbase_app, callbase_worker;

-- Adds (sign 1) or takes off (sign -1) one call's contribution.
CREATE FUNCTION call_stats_apply(c calls, sign integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF c.ended_at IS NULL THEN
        RETURN;
    END IF;
    INSERT INTO call_stats AS s (tenant_id, bucket, user_id, trunk_slot, queue_id, direction, calls, answered,
                                 missed, failed, talk_ms, hold_ms, wrapup_ms, wrapups, queued, queue_wait_ms,
                                 queue_answered, abandoned, overflowed)
    VALUES (c.tenant_id,
            to_timestamp(floor(extract(epoch FROM c.started_at) / 900) * 900),
            coalesce(c.user_id, 0), coalesce(c.trunk_slot, 0), coalesce(c.queue_id, 0), c.direction,
            sign,
            sign * (c.answered_at IS NOT NULL)::int,
            sign * coalesce(c.answered_at IS NULL AND c.result = 'missed', false)::int,
            sign * coalesce(c.answered_at IS NULL AND c.result IN ('busy', 'failed', 'refused'), false)::int,
            sign * coalesce((extract(epoch FROM c.ended_at - c.answered_at) * 1000)::bigint, 0),
            sign * c.hold_secs::bigint * 1000,
            sign * coalesce(c.wrapup_secs, 0)::bigint * 1000,
            sign * (c.wrapup_secs IS NOT NULL)::int,
            sign * (c.queued_at IS NOT NULL)::int,
            sign * coalesce(c.queue_wait_ms, 0)::bigint,
            sign * coalesce(c.queue_outcome = 'answered', false)::int,
            sign * coalesce(c.queue_outcome = 'abandoned', false)::int,
            sign * coalesce(c.queue_outcome = 'overflow', false)::int)
    ON CONFLICT (tenant_id, bucket, user_id, trunk_slot, queue_id, direction) DO UPDATE SET
        calls = s.calls + EXCLUDED.calls,
        answered = s.answered + EXCLUDED.answered,
        missed = s.missed + EXCLUDED.missed,
        failed = s.failed + EXCLUDED.failed,
        talk_ms = s.talk_ms + EXCLUDED.talk_ms,
        hold_ms = s.hold_ms + EXCLUDED.hold_ms,
        wrapup_ms = s.wrapup_ms + EXCLUDED.wrapup_ms,
        wrapups = s.wrapups + EXCLUDED.wrapups,
        queued = s.queued + EXCLUDED.queued,
        queue_wait_ms = s.queue_wait_ms + EXCLUDED.queue_wait_ms,
        queue_answered = s.queue_answered + EXCLUDED.queue_answered,
        abandoned = s.abandoned + EXCLUDED.abandoned,
        overflowed = s.overflowed + EXCLUDED.overflowed;
    -- A bucket whose calls were all taken off (deleted, moved) goes.
    IF sign < 0 THEN
        DELETE FROM call_stats WHERE tenant_id = c.tenant_id
            AND bucket = to_timestamp(floor(extract(epoch FROM c.started_at) / 900) * 900)
            AND user_id = coalesce(c.user_id, 0) AND trunk_slot = coalesce(c.trunk_slot, 0)
            AND queue_id = coalesce(c.queue_id, 0) AND direction = c.direction AND calls = 0;
    END IF;
END;
$$;

CREATE FUNCTION call_stats_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM call_stats_apply(OLD, -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM call_stats_apply(NEW, 1);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER calls_stats_insert_delete AFTER INSERT OR DELETE ON calls
    FOR EACH ROW EXECUTE FUNCTION call_stats_trigger();
-- Only changes of what a report reads (a live call's checkpoints and recording states cost nothing).
CREATE TRIGGER calls_stats_update AFTER UPDATE OF ended_at, answered_at, started_at, user_id, trunk_slot,
        queue_id, direction, result, hold_secs, wrapup_secs, queued_at, queue_wait_ms, queue_outcome ON calls
    FOR EACH ROW EXECUTE FUNCTION call_stats_trigger();

-- The calls there are.
INSERT INTO call_stats (tenant_id, bucket, user_id, trunk_slot, queue_id, direction, calls, answered, missed,
                        failed, talk_ms, hold_ms, wrapup_ms, wrapups, queued, queue_wait_ms, queue_answered,
                        abandoned, overflowed)
SELECT tenant_id, to_timestamp(floor(extract(epoch FROM started_at) / 900) * 900), coalesce(user_id, 0),
       coalesce(trunk_slot, 0), coalesce(queue_id, 0), direction,
       count(*), count(*) FILTER (WHERE answered_at IS NOT NULL),
       count(*) FILTER (WHERE answered_at IS NULL AND result = 'missed'),
       count(*) FILTER (WHERE answered_at IS NULL AND result IN ('busy', 'failed', 'refused')),
       coalesce(sum((extract(epoch FROM ended_at - answered_at) * 1000)::bigint), 0),
       sum(hold_secs::bigint * 1000), coalesce(sum(wrapup_secs::bigint * 1000), 0),
       count(wrapup_secs), count(queued_at), coalesce(sum(queue_wait_ms), 0),
       count(*) FILTER (WHERE queue_outcome = 'answered'), count(*) FILTER (WHERE queue_outcome = 'abandoned'),
       count(*) FILTER (WHERE queue_outcome = 'overflow')
FROM calls WHERE ended_at IS NOT NULL
GROUP BY 1, 2, 3, 4, 5, 6;
