-- The synthetic agent's health probe (docs/probe.md): a tenant's probe number (the carrier's echo
-- number its trunk path is called on), and the results of every probe call.
ALTER TABLE telephony ADD COLUMN probe_number text
    CHECK (probe_number ~ '^[+*#0-9A-Za-z]{1,32}$');

CREATE TABLE probe_results (
    id            bigserial PRIMARY KEY,
    at            timestamptz NOT NULL DEFAULT now(),
    -- The Asterisk node probed (probe.node).
    node          text NOT NULL,
    -- NULL: the platform path (the internal echo); otherwise the tenant whose trunk path was called.
    tenant_id     bigint REFERENCES tenants(id) ON DELETE CASCADE,
    number        text NOT NULL,
    ok            boolean NOT NULL,
    register_ms   real,
    invite_ok_ms  real,
    ice_ms        real,
    dtls_ms       real,
    rtt_ms        real,
    loss_pct      real,
    jitter_ms     real,
    error         text
);
CREATE INDEX probe_results_tenant_at_idx ON probe_results (tenant_id, at DESC);
CREATE INDEX probe_results_at_idx ON probe_results (at);

-- Tenants read their own trunk path's results; platform rows (NULL) and writes are the worker's.
ALTER TABLE probe_results ENABLE ROW LEVEL SECURITY;
ALTER TABLE probe_results FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON probe_results
    USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant());
GRANT SELECT ON probe_results TO callbase_app;
GRANT SELECT, INSERT, DELETE ON probe_results TO callbase_worker;
GRANT USAGE ON SEQUENCE probe_results_id_seq TO callbase_worker;
