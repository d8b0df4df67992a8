-- IVR menus (issue #19, item 3): the caller hears the menu's greeting (uploaded MP3/WAV) and
-- presses a digit; each digit leads to a queue, a user, an outside number, another menu, voicemail
-- or everyone ringing. No digit within the timeout, or a digit the menu does not know, plays the
-- greeting again (a prompt first for a wrong digit); after the retries the caller goes to the
-- menu's fallback. Each trunk (its DID) may start its calls in a menu.
CREATE TABLE menus (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id       bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 60),
    -- The uploaded greeting's object name (served to Asterisk like the tenant's greeting).
    greeting_key    text,
    timeout_secs    smallint NOT NULL CHECK (timeout_secs BETWEEN 2 AND 30),
    retries         smallint NOT NULL CHECK (retries BETWEEN 0 AND 5),
    -- Where a caller goes who pressed nothing (or only wrong digits) after the retries.
    fallback_kind   text NOT NULL CHECK (fallback_kind IN ('ring_all', 'queue', 'user', 'number', 'menu', 'voicemail', 'hangup')),
    fallback_queue  bigint,
    fallback_user   bigint,
    fallback_number text CHECK (length(fallback_number) BETWEEN 2 AND 32),
    fallback_menu   bigint,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, name),
    UNIQUE (tenant_id, id)
);

CREATE TABLE menu_options (
    tenant_id   bigint NOT NULL,
    menu_id     bigint NOT NULL,
    digit       text NOT NULL CHECK (digit ~ '^[0-9*#]$'),
    kind        text NOT NULL CHECK (kind IN ('ring_all', 'queue', 'user', 'number', 'menu', 'voicemail')),
    queue_id    bigint,
    user_id     bigint,
    number      text CHECK (length(number) BETWEEN 2 AND 32),
    target_menu bigint,
    PRIMARY KEY (menu_id, digit),
    FOREIGN KEY (tenant_id, menu_id) REFERENCES menus (tenant_id, id) ON DELETE CASCADE
);

-- A queue, user or menu a menu points to may be deleted: the reference goes, and the call control
-- treats the step as ring-all (the menu editor shows it as gone).
ALTER TABLE menus
    ADD FOREIGN KEY (tenant_id, fallback_queue) REFERENCES queues (tenant_id, id) ON DELETE SET NULL (fallback_queue),
    ADD FOREIGN KEY (tenant_id, fallback_user) REFERENCES users (tenant_id, id) ON DELETE SET NULL (fallback_user),
    ADD FOREIGN KEY (tenant_id, fallback_menu) REFERENCES menus (tenant_id, id) ON DELETE SET NULL (fallback_menu);
ALTER TABLE menu_options
    ADD FOREIGN KEY (tenant_id, queue_id) REFERENCES queues (tenant_id, id) ON DELETE SET NULL (queue_id),
    ADD FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE SET NULL (user_id),
    ADD FOREIGN KEY (tenant_id, target_menu) REFERENCES menus (tenant_id, id) ON DELETE SET NULL (target_menu);

ALTER TABLE menus ENABLE ROW LEVEL SECURITY;
ALTER TABLE menus FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON menus
    USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant());
ALTER TABLE menu_options ENABLE ROW LEVEL SECURITY;
ALTER TABLE menu_options FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON menu_options
    USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON menus, menu_options TO callbase_app, callbase_worker;

ALTER TABLE trunks DROP CONSTRAINT trunks_first_step_check;
ALTER TABLE trunks
    ADD CONSTRAINT trunks_first_step_check CHECK (first_step IN ('ring_all', 'queue', 'user', 'menu')),
    ADD COLUMN first_menu_id bigint REFERENCES menus (id) ON DELETE SET NULL;

ALTER TABLE calls DROP CONSTRAINT calls_phase_check;
ALTER TABLE calls
    ADD CONSTRAINT calls_phase_check CHECK (phase IN ('setup', 'greeting', 'closed', 'menu', 'ringing', 'dialing',
                                                      'queued', 'talking', 'consulting', 'parked',
                                                      'transferring', 'forwarded', 'voicemail', 'ended'));
