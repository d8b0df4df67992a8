-- The media quality of a call as the agent's phone saw it (issue #22, one-way-audio diagnosis):
-- the phone sends a summary when the call ends (estimated MOS, loss, jitter, round trip, and the
-- problems it named with the hop: "mic_silent", "server_to_browser", …). One row per call; the
-- call's deletion (retention, turning telephony off) takes it along.
CREATE TABLE call_quality (
    call_id     uuid PRIMARY KEY REFERENCES calls (id) ON DELETE CASCADE,
    tenant_id   bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id     bigint NOT NULL,
    reported_at timestamptz NOT NULL DEFAULT now(),
    -- Estimated MOS (ITU-T G.107 E-model from loss, jitter and round trip): the call's lowest and
    -- its average over the samples.
    mos_min     real CHECK (mos_min BETWEEN 1 AND 5),
    mos_avg     real CHECK (mos_avg BETWEEN 1 AND 5),
    loss_pct    real CHECK (loss_pct BETWEEN 0 AND 100),
    jitter_ms   real CHECK (jitter_ms >= 0),
    rtt_ms      real CHECK (rtt_ms >= 0),
    problems    text[] NOT NULL DEFAULT '{}' CHECK (cardinality(problems) <= 16),
    browser     text CHECK (length(browser) <= 200)
);
CREATE INDEX call_quality_tenant ON call_quality (tenant_id, reported_at DESC);
ALTER TABLE call_quality ENABLE ROW LEVEL SECURITY;
ALTER TABLE call_quality FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON call_quality
    USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON call_quality TO callbase_app, callbase_worker;
