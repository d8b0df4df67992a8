-- Call records (issue #4 writes them, issue #7 adds recordings and the records page). One row per
-- call as the customer sees it: inbound from a trunk, or outbound by an agent. Turning telephony
-- off deletes a tenant's rows.
CREATE TABLE calls (
    id             uuid PRIMARY KEY,
    tenant_id      bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    direction      text NOT NULL CHECK (direction IN ('inbound', 'outbound', 'internal')),
    -- The telephony user who placed or answered the call (NULL: nobody answered).
    user_id        bigint,
    -- The other party: E.164 when the dial rules could normalise it, else as dialled/received.
    number         text NOT NULL,
    did            text,
    trunk_slot     smallint,
    -- Why the call left on another trunk than the first, or why it failed, in words.
    route_note     text,
    started_at     timestamptz NOT NULL DEFAULT now(),
    answered_at    timestamptz,
    ended_at       timestamptz,
    -- answered, missed, busy, failed, refused (by dial rules), forwarded (no answer → forward number)
    result         text CHECK (result IN ('answered', 'missed', 'busy', 'failed', 'refused', 'forwarded')),
    reason         text,
    hold_secs      integer NOT NULL DEFAULT 0,
    note           text,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE SET NULL (user_id)
);
CREATE INDEX calls_tenant_started ON calls (tenant_id, started_at DESC);
CREATE INDEX calls_tenant_user_started ON calls (tenant_id, user_id, started_at DESC);

ALTER TABLE calls ENABLE ROW LEVEL SECURITY;
ALTER TABLE calls FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON calls
    USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant());

GRANT SELECT, INSERT, UPDATE, DELETE ON calls TO callbase_app, callbase_worker;
