-- Speed dial (issue #18, item 6): named numbers per access group, shown in the phone of the group's
-- members (masked by the viewer's rules) and dialled by reference (`sd<id>`): the number is looked
-- up inside the call flow, for a member of the group only.
CREATE TABLE speed_dials (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id   bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    group_id    bigint NOT NULL,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 60),
    number      text NOT NULL CHECK (length(number) BETWEEN 1 AND 32),
    created_at  timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (tenant_id, group_id) REFERENCES access_groups (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX speed_dials_tenant_group ON speed_dials (tenant_id, group_id, lower(name));

ALTER TABLE speed_dials ENABLE ROW LEVEL SECURITY;
ALTER TABLE speed_dials FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON speed_dials
    USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant());

GRANT SELECT, INSERT, UPDATE, DELETE ON speed_dials TO callbase_app, callbase_worker;
