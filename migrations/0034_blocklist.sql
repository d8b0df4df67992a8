-- Blocklist (issue #19, item 6; seed AsterCRM): caller numbers a tenant refuses. A call from a
-- blocked number is rejected before it is answered (SIP 403 to the carrier: nothing rings, nothing
-- is billed) and counted on its entry; it leaves no call record (it would be a "missed" call).
CREATE TABLE blocked_numbers (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id        bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    -- E.164, as the tenant's dial rules normalise caller numbers.
    number           text NOT NULL CHECK (length(number) BETWEEN 2 AND 32),
    note             text NOT NULL DEFAULT '' CHECK (length(note) <= 200),
    created_at       timestamptz NOT NULL DEFAULT now(),
    created_by       bigint,
    blocked_calls    bigint NOT NULL DEFAULT 0,
    last_blocked_at  timestamptz,
    UNIQUE (tenant_id, number)
);

ALTER TABLE blocked_numbers ENABLE ROW LEVEL SECURITY;
ALTER TABLE blocked_numbers FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON blocked_numbers
    USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant());

GRANT SELECT, INSERT, UPDATE, DELETE ON blocked_numbers TO callbase_app, callbase_worker;
