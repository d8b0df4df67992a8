-- SIP trunks: up to three per tenant. The PJSIP realtime rows that make Asterisk use a trunk live
-- in the ast schema under the id t<tenant>-trk<slot>; the password lives only there (Asterisk needs
-- it in clear to answer digest challenges) and is never returned by the API.

CREATE TABLE trunks (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id   bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    -- stable 1..3: part of the Asterisk ids, so reordering never re-registers a trunk
    slot        smallint NOT NULL CHECK (slot BETWEEN 1 AND 3),
    -- 1 = the trunk outbound calls use first
    position    smallint NOT NULL CHECK (position BETWEEN 1 AND 3),
    mode        text NOT NULL CHECK (mode IN ('simple', 'extended')),
    label       text NOT NULL DEFAULT '',
    number      text,
    username    text NOT NULL,
    domain      text NOT NULL,
    host        text NOT NULL,
    rewrite     text,
    preset      text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT trunks_tenant_slot_key UNIQUE (tenant_id, slot),
    CONSTRAINT trunks_tenant_position_key UNIQUE (tenant_id, position) DEFERRABLE INITIALLY DEFERRED
);

ALTER TABLE trunks ENABLE ROW LEVEL SECURITY;
ALTER TABLE trunks FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON trunks
    USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant());

GRANT SELECT, INSERT, UPDATE, DELETE ON trunks TO callbase_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON trunks TO callbase_worker;
