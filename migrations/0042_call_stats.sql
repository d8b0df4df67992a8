-- Report aggregates (issue #20): reports read these, never the raw calls. One row per tenant,
-- 15-minute UTC bucket of the call's start, agent, trunk, queue and direction; a bucket of 15
-- minutes belongs to one local hour in every time zone in use (offsets are whole quarter hours:
-- Asia/Kolkata +5:30, Asia/Kathmandu +5:45), so a report in the tenant's zone groups buckets by
-- local day and hour, across daylight-saving changes too.
--
-- Kept by a trigger on `calls`: a row counts once it has ended; any later change to what a report
-- reads (the wrap-up written by the card, hold, the agent, the result, the queue) takes the old
-- contribution off and puts the new one on, and a deleted call (retention, telephony off) takes
-- its contribution off — every path that touches calls keeps the figures right, with no second
-- writer to forget.
--
-- Time in agent states is read from agent_state_log, which already is one row per state period
-- (written as states change), clipped to the report's period.

-- The agents an inbound call rang out at (nobody of them answered while it rang them): their
-- "missed" in the per-agent report. Written with the Break "missed calls" count (issue #18).
ALTER TABLE calls ADD COLUMN rang_out bigint[] NOT NULL DEFAULT '{}';
-- Whether a queued call answered within its queue's service level, decided once when it is
-- answered (a later change of the queue's service level does not rewrite history).
ALTER TABLE calls ADD COLUMN queue_in_sl boolean;

CREATE FUNCTION calls_queue_in_sl() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.queue_outcome = 'answered' AND NEW.queue_in_sl IS NULL AND NEW.queue_id IS NOT NULL THEN
        NEW.queue_in_sl := coalesce(NEW.queue_wait_ms, 0) <=
            (SELECT q.service_level_secs::int * 1000 FROM queues q WHERE q.id = NEW.queue_id);
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER calls_queue_in_sl BEFORE INSERT OR UPDATE OF queue_outcome ON calls
    FOR EACH ROW EXECUTE FUNCTION calls_queue_in_sl();

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
    voicemails       integer NOT NULL DEFAULT 0,
    talk_ms          bigint NOT NULL DEFAULT 0,
    hold_ms          bigint NOT NULL DEFAULT 0,
    wrapup_ms        bigint NOT NULL DEFAULT 0,
    wrapups          integer NOT NULL DEFAULT 0,
    queued           integer NOT NULL DEFAULT 0,
    queue_answered   integer NOT NULL DEFAULT 0,
    answer_wait_ms   bigint NOT NULL DEFAULT 0,
    in_sl            integer NOT NULL DEFAULT 0,
    abandoned        integer NOT NULL DEFAULT 0,
    overflowed       integer NOT NULL DEFAULT 0,
    callbacks        integer NOT NULL DEFAULT 0,
    -- Inbound calls that rang this agent out (in rows of the agent; `calls` is 0 there unless the
    -- agent also has calls of their own in the same bucket, trunk, queue and direction).
    rang_out         integer NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, bucket, user_id, trunk_slot, queue_id, direction)
);

ALTER TABLE call_stats ENABLE ROW LEVEL SECURITY;
ALTER TABLE call_stats FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON call_stats
    USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON call_stats TO callbase_app, callbase_worker;

CREATE FUNCTION call_stats_bucket(t timestamptz) RETURNS timestamptz LANGUAGE sql IMMUTABLE AS $$
    SELECT to_timestamp(floor(extract(epoch FROM t) / 900) * 900)
$$;

-- Adds (sign 1) or takes off (sign -1) one call's contribution.
CREATE FUNCTION call_stats_apply(c calls, sign integer) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    b timestamptz := call_stats_bucket(c.started_at);
    u bigint;
BEGIN
    IF c.ended_at IS NULL THEN
        RETURN;
    END IF;
    INSERT INTO call_stats AS s (tenant_id, bucket, user_id, trunk_slot, queue_id, direction, calls, answered,
                                 missed, failed, voicemails, talk_ms, hold_ms, wrapup_ms, wrapups, queued,
                                 queue_answered, answer_wait_ms, in_sl, abandoned, overflowed, callbacks)
    VALUES (c.tenant_id, b, coalesce(c.user_id, 0), coalesce(c.trunk_slot, 0), coalesce(c.queue_id, 0), c.direction,
            sign,
            sign * (c.answered_at IS NOT NULL)::int,
            sign * coalesce(c.answered_at IS NULL AND c.result = 'missed', false)::int,
            sign * coalesce(c.answered_at IS NULL AND c.result IN ('busy', 'failed', 'refused'), false)::int,
            sign * c.voicemail::int,
            sign * coalesce((extract(epoch FROM c.ended_at - c.answered_at) * 1000)::bigint, 0),
            sign * c.hold_secs::bigint * 1000,
            sign * coalesce(c.wrapup_secs, 0)::bigint * 1000,
            sign * (c.wrapup_secs IS NOT NULL)::int,
            sign * (c.queued_at IS NOT NULL)::int,
            sign * coalesce(c.queue_outcome = 'answered', false)::int,
            sign * CASE WHEN c.queue_outcome = 'answered' THEN coalesce(c.queue_wait_ms, 0)::bigint ELSE 0 END,
            sign * coalesce(c.queue_in_sl, false)::int,
            sign * coalesce(c.queue_outcome = 'abandoned', false)::int,
            sign * coalesce(c.queue_outcome = 'overflow', false)::int,
            sign * coalesce(c.queue_outcome = 'callback', false)::int)
    ON CONFLICT (tenant_id, bucket, user_id, trunk_slot, queue_id, direction) DO UPDATE SET
        calls = s.calls + EXCLUDED.calls,
        answered = s.answered + EXCLUDED.answered,
        missed = s.missed + EXCLUDED.missed,
        failed = s.failed + EXCLUDED.failed,
        voicemails = s.voicemails + EXCLUDED.voicemails,
        talk_ms = s.talk_ms + EXCLUDED.talk_ms,
        hold_ms = s.hold_ms + EXCLUDED.hold_ms,
        wrapup_ms = s.wrapup_ms + EXCLUDED.wrapup_ms,
        wrapups = s.wrapups + EXCLUDED.wrapups,
        queued = s.queued + EXCLUDED.queued,
        queue_answered = s.queue_answered + EXCLUDED.queue_answered,
        answer_wait_ms = s.answer_wait_ms + EXCLUDED.answer_wait_ms,
        in_sl = s.in_sl + EXCLUDED.in_sl,
        abandoned = s.abandoned + EXCLUDED.abandoned,
        overflowed = s.overflowed + EXCLUDED.overflowed,
        callbacks = s.callbacks + EXCLUDED.callbacks;
    FOREACH u IN ARRAY c.rang_out LOOP
        INSERT INTO call_stats AS s (tenant_id, bucket, user_id, trunk_slot, queue_id, direction, rang_out)
        VALUES (c.tenant_id, b, u, coalesce(c.trunk_slot, 0), coalesce(c.queue_id, 0), c.direction, sign)
        ON CONFLICT (tenant_id, bucket, user_id, trunk_slot, queue_id, direction) DO UPDATE SET
            rang_out = s.rang_out + EXCLUDED.rang_out;
    END LOOP;
    -- A row whose calls were all taken off (deleted, moved) goes.
    IF sign < 0 THEN
        DELETE FROM call_stats WHERE tenant_id = c.tenant_id AND bucket = b
            AND (user_id = coalesce(c.user_id, 0) OR user_id = ANY (c.rang_out))
            AND trunk_slot = coalesce(c.trunk_slot, 0) AND queue_id = coalesce(c.queue_id, 0)
            AND direction = c.direction AND calls = 0 AND rang_out = 0;
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
        queue_id, direction, result, hold_secs, wrapup_secs, queued_at, queue_wait_ms, queue_outcome,
        queue_in_sl, voicemail, rang_out ON calls
    FOR EACH ROW WHEN (OLD.ended_at IS NOT NULL OR NEW.ended_at IS NOT NULL)
    EXECUTE FUNCTION call_stats_trigger();

-- Time in states over a period: the periods that start in it, and those that started before it
-- and had not ended when it began.
CREATE INDEX agent_state_log_started ON agent_state_log (tenant_id, started_at);
CREATE INDEX agent_state_log_ended ON agent_state_log (tenant_id, ended_at);

-- The calls there are. The owner is filtered by forced row-level security like everyone else; the
-- backfill lifts the force for the owner inside this migration's transaction only.
ALTER TABLE calls NO FORCE ROW LEVEL SECURITY;
ALTER TABLE call_stats NO FORCE ROW LEVEL SECURITY;
ALTER TABLE queues NO FORCE ROW LEVEL SECURITY;
ALTER TABLE calls DISABLE TRIGGER calls_stats_update;
UPDATE calls c SET queue_in_sl = coalesce(c.queue_wait_ms, 0) <= q.service_level_secs::int * 1000
    FROM queues q WHERE q.id = c.queue_id AND c.queue_outcome = 'answered';
ALTER TABLE calls ENABLE TRIGGER calls_stats_update;
INSERT INTO call_stats (tenant_id, bucket, user_id, trunk_slot, queue_id, direction, calls, answered, missed,
                        failed, voicemails, talk_ms, hold_ms, wrapup_ms, wrapups, queued, queue_answered,
                        answer_wait_ms, in_sl, abandoned, overflowed, callbacks)
SELECT tenant_id, call_stats_bucket(started_at), coalesce(user_id, 0),
       coalesce(trunk_slot, 0), coalesce(queue_id, 0), direction,
       count(*), count(*) FILTER (WHERE answered_at IS NOT NULL),
       count(*) FILTER (WHERE answered_at IS NULL AND result = 'missed'),
       count(*) FILTER (WHERE answered_at IS NULL AND result IN ('busy', 'failed', 'refused')),
       count(*) FILTER (WHERE voicemail),
       coalesce(sum((extract(epoch FROM ended_at - answered_at) * 1000)::bigint), 0),
       sum(hold_secs::bigint * 1000), coalesce(sum(wrapup_secs::bigint * 1000), 0),
       count(wrapup_secs), count(queued_at),
       count(*) FILTER (WHERE queue_outcome = 'answered'),
       coalesce(sum(queue_wait_ms) FILTER (WHERE queue_outcome = 'answered'), 0),
       count(*) FILTER (WHERE queue_in_sl),
       count(*) FILTER (WHERE queue_outcome = 'abandoned'),
       count(*) FILTER (WHERE queue_outcome = 'overflow'),
       count(*) FILTER (WHERE queue_outcome = 'callback')
FROM calls WHERE ended_at IS NOT NULL
GROUP BY 1, 2, 3, 4, 5, 6;
ALTER TABLE calls FORCE ROW LEVEL SECURITY;
ALTER TABLE call_stats FORCE ROW LEVEL SECURITY;
ALTER TABLE queues FORCE ROW LEVEL SECURITY;
