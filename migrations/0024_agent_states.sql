-- Agent states (issue #18): whether a telephony user takes calls now.
--
--   telephony_users.state   'available' (rings for inbound calls when it accepts incoming ones),
--                           'break' (with a reason from the tenant's list, or 'missed calls' set by
--                           the server after missed_to_break inbound calls rang out in a row),
--                           'dnd' (do not disturb), 'wrapup' (set by the server when a call the
--                           agent talked in ends, until the agent closes the call card or presses
--                           Ready, at most until wrapup_until). Offline is not a state: it is
--                           derived from the agent's registered devices.
--   agent_state_log         every state with its start and end, for reports. An expired wrap-up
--                           ends at its wrapup_until (agent_state_set writes it so).
--   telephony.*             the tenant's break reasons, its wrap-up maximum (0 = no wrap-up, the
--                           default: an agent is rung again right after a call until an
--                           administrator turns wrap-up on) and
--                           the number of inbound calls an agent may let ring out in a row before
--                           going to Break "missed calls" (0 = never).
-- The log of a telephony user starts at its first state change; before it, the user was available.

ALTER TABLE telephony
    ADD COLUMN break_reasons text[] NOT NULL DEFAULT ARRAY['Lunch', 'Training', 'Meeting']
        CHECK (cardinality(break_reasons) <= 20),
    ADD COLUMN wrapup_max_secs integer NOT NULL DEFAULT 0 CHECK (wrapup_max_secs BETWEEN 0 AND 3600),
    ADD COLUMN missed_to_break integer NOT NULL DEFAULT 0 CHECK (missed_to_break BETWEEN 0 AND 20);

ALTER TABLE telephony_users
    ADD COLUMN state text NOT NULL DEFAULT 'available' CHECK (state IN ('available', 'break', 'dnd', 'wrapup')),
    ADD COLUMN state_reason text CHECK (length(state_reason) <= 60),
    ADD COLUMN state_since timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN wrapup_until timestamptz,
    ADD COLUMN missed_in_row integer NOT NULL DEFAULT 0;

CREATE TABLE agent_state_log (
    id          bigserial PRIMARY KEY,
    tenant_id   bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id     bigint NOT NULL,
    state       text NOT NULL,
    reason      text,
    started_at  timestamptz NOT NULL,
    ended_at    timestamptz,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX agent_state_log_user ON agent_state_log (tenant_id, user_id, started_at);

ALTER TABLE agent_state_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE agent_state_log FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON agent_state_log
    USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant());
GRANT SELECT, INSERT, UPDATE ON agent_state_log TO callbase_app, callbase_worker;
GRANT USAGE ON SEQUENCE agent_state_log_id_seq TO callbase_app, callbase_worker;

-- The state an agent is in now: an expired wrap-up is available.
CREATE FUNCTION agent_state_now(state text, wrapup_until timestamptz) RETURNS text
    LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN state = 'wrapup' AND wrapup_until IS NOT NULL AND wrapup_until <= now() THEN 'available' ELSE state END
$$;

-- Sets a telephony user's state (in the caller's tenant, under RLS), closing the log row of the
-- previous one: an expired wrap-up is logged as ending at its wrapup_until, followed by the
-- available time up to now. Returns false when the user is not a telephony user. A state set to
-- what it already is (same reason, not a wrap-up) changes nothing.
CREATE FUNCTION agent_state_set(p_tenant bigint, p_user bigint, p_state text, p_reason text, p_until timestamptz)
    RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    cur telephony_users%ROWTYPE;
    changed_at timestamptz := now();
BEGIN
    SELECT * INTO cur FROM telephony_users WHERE tenant_id = p_tenant AND user_id = p_user FOR UPDATE;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    IF agent_state_now(cur.state, cur.wrapup_until) = p_state AND p_state <> 'wrapup'
       AND cur.state_reason IS NOT DISTINCT FROM p_reason THEN
        RETURN true;
    END IF;
    IF cur.state = 'wrapup' AND cur.wrapup_until IS NOT NULL AND cur.wrapup_until <= changed_at THEN
        -- The wrap-up ended by itself at its maximum; the agent was available since.
        UPDATE agent_state_log SET ended_at = cur.wrapup_until
            WHERE tenant_id = p_tenant AND user_id = p_user AND ended_at IS NULL;
        INSERT INTO agent_state_log (tenant_id, user_id, state, reason, started_at, ended_at)
            VALUES (p_tenant, p_user, 'available', NULL, cur.wrapup_until, changed_at);
    ELSE
        UPDATE agent_state_log SET ended_at = changed_at
            WHERE tenant_id = p_tenant AND user_id = p_user AND ended_at IS NULL;
    END IF;
    INSERT INTO agent_state_log (tenant_id, user_id, state, reason, started_at)
        VALUES (p_tenant, p_user, p_state, p_reason, changed_at);
    UPDATE telephony_users
        SET state = p_state, state_reason = p_reason, state_since = changed_at,
            wrapup_until = CASE WHEN p_state = 'wrapup' THEN p_until END,
            missed_in_row = CASE WHEN p_state = 'available' THEN 0 ELSE missed_in_row END
        WHERE tenant_id = p_tenant AND user_id = p_user;
    RETURN true;
END
$$;
