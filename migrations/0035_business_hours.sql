-- Business hours (issue #19, item 2): a weekly schedule, holidays and the tenant's time zone. A call
-- that arrives while the tenant is closed hears the closed greeting (when set) and goes to the
-- closed destination (a number through the trunks) or ends as missed ("closed"). The time zone is an
-- IANA name PostgreSQL knows (pg_timezone_names): the database decides the local day and time, and
-- reports use the same zone.
ALTER TABLE telephony
    ADD COLUMN time_zone           text NOT NULL DEFAULT 'UTC' CHECK (length(time_zone) BETWEEN 1 AND 64),
    ADD COLUMN hours_enabled       boolean NOT NULL DEFAULT false,
    ADD COLUMN closed_greeting_key text,
    ADD COLUMN closed_forward      text;

-- Opening ranges: ISO weekday (1 = Monday), [opens, closes) in minutes of the local day (closes
-- 1440 = midnight at the day's end). Ranges of one day never overlap (checked by the API, which
-- names the entry).
CREATE TABLE business_hours (
    tenant_id  bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    weekday    smallint NOT NULL CHECK (weekday BETWEEN 1 AND 7),
    opens      smallint NOT NULL CHECK (opens BETWEEN 0 AND 1439),
    closes     smallint NOT NULL CHECK (closes BETWEEN 1 AND 1440),
    CHECK (closes > opens),
    PRIMARY KEY (tenant_id, weekday, opens)
);

-- Days closed all day (local dates in the tenant's time zone).
CREATE TABLE holidays (
    tenant_id  bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    day        date NOT NULL,
    name       text NOT NULL DEFAULT '' CHECK (length(name) <= 100),
    PRIMARY KEY (tenant_id, day)
);

ALTER TABLE business_hours ENABLE ROW LEVEL SECURITY;
ALTER TABLE business_hours FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON business_hours
    USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant());
ALTER TABLE holidays ENABLE ROW LEVEL SECURITY;
ALTER TABLE holidays FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON holidays
    USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant());

GRANT SELECT, INSERT, UPDATE, DELETE ON business_hours, holidays TO callbase_app, callbase_worker;

-- A call that came while closed (closed greeting, closed destination): a new controller after a
-- restart ends it rather than ringing agents (issue #16's rules).
ALTER TABLE calls DROP CONSTRAINT calls_phase_check;
ALTER TABLE calls
    ADD CONSTRAINT calls_phase_check CHECK (phase IN ('setup', 'greeting', 'closed', 'ringing', 'dialing',
                                                      'talking', 'consulting', 'parked', 'transferring',
                                                      'forwarded', 'ended'));
