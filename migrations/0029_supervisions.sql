-- Listen, whisper, barge (issue #18, item 3). A supervisor joins an agent's live call from the
-- presence board with their own phone: `listen` hears both sides through an ARI snoop channel on the
-- agent's leg (nobody hears the supervisor), `whisper` is heard by the agent only (the snoop
-- whispers into the agent's leg), `barge` joins the call's bridge (three-way).
--
-- Every supervision is a row: the audit (who, whom, which call, when, how long, how it ended) and
-- the control state a new controller needs after a restart (the supervisor's leg, the snoop channel
-- and their bridge: adopted with the call, never hung up as unknown). Rows outlive the call record
-- (no foreign key to calls: retention may delete the call, the audit stays).
CREATE TABLE supervisions (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id          bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    call_id            uuid NOT NULL,
    supervisor_id      bigint NOT NULL,
    agent_id           bigint NOT NULL,
    mode               text NOT NULL CHECK (mode IN ('listen', 'whisper', 'barge')),
    requested_at       timestamptz NOT NULL DEFAULT now(),
    -- The supervisor's phone answered (NULL: it never did).
    answered_at        timestamptz,
    ended_at           timestamptz,
    -- How it ended: 'supervisor hung up', 'call ended', 'no answer', 'no phone', 'agent left', …
    result             text,
    supervisor_channel text,
    snoop_channel      text,
    bridge_id          text
);
CREATE INDEX supervisions_tenant_time ON supervisions (tenant_id, requested_at DESC);
CREATE INDEX supervisions_open_call ON supervisions (call_id) WHERE ended_at IS NULL;

ALTER TABLE supervisions ENABLE ROW LEVEL SECURITY;
ALTER TABLE supervisions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON supervisions
    USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant());
GRANT SELECT, INSERT, UPDATE ON supervisions TO callbase_app, callbase_worker;

-- Agents in a private group cannot be listened to, whispered to or barged in on.
ALTER TABLE access_groups ADD COLUMN private boolean NOT NULL DEFAULT false;
