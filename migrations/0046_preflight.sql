-- Preflight (issue #22, item 5): before a shift the agent's phone calls the platform echo (`*43`)
-- and measures round trip, loss, jitter and whether its own audio came back. The last result per
-- telephony user is kept (a new test replaces it) for the administrators' list; removing the
-- user's telephony takes it along.
CREATE TABLE preflight_results (
    tenant_id   bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id     bigint NOT NULL,
    tested_at   timestamptz NOT NULL DEFAULT now(),
    rtt_ms      real CHECK (rtt_ms BETWEEN 0 AND 60000),
    loss_pct    real CHECK (loss_pct BETWEEN 0 AND 100),
    jitter_ms   real CHECK (jitter_ms BETWEEN 0 AND 60000),
    -- Estimated MOS (G.107 E-model from the three figures), as the phone computed it.
    mos         real CHECK (mos BETWEEN 1 AND 5),
    verdict     text NOT NULL CHECK (verdict IN ('good', 'fair', 'poor', 'no_audio')),
    audio_back  boolean NOT NULL,
    browser     text CHECK (length(browser) <= 200),
    PRIMARY KEY (tenant_id, user_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES telephony_users (tenant_id, user_id) ON DELETE CASCADE
);
ALTER TABLE preflight_results ENABLE ROW LEVEL SECURITY;
ALTER TABLE preflight_results FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON preflight_results
    USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON preflight_results TO callbase_app, callbase_worker;
