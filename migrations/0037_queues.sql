-- Queues (issue #19, item 1): an inbound call waits in line with music on hold until a member is
-- free, hearing its position; a strategy picks which free member rings; too long a wait, or too
-- long a line, sends the caller to the queue's overflow. The waiting callers are rows of `calls`
-- (phase 'queued', `queue_id`, `queued_at`): the line is the same for every replica, survives a
-- restart (a new controller puts an adopted caller back in its place) and is what the board and
-- the reports count.
CREATE TABLE queues (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id           bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name                text NOT NULL CHECK (length(name) BETWEEN 1 AND 60),
    -- ring_all: every free member rings for the first caller; longest_idle: the member whose last
    -- call ended longest ago; round_robin: the member after the one rung last; fewest_calls: the
    -- member who answered the fewest calls today (the tenant's day).
    strategy            text NOT NULL CHECK (strategy IN ('ring_all', 'longest_idle', 'round_robin', 'fewest_calls')),
    ring_secs           smallint NOT NULL CHECK (ring_secs BETWEEN 5 AND 120),
    max_wait_secs       integer NOT NULL CHECK (max_wait_secs BETWEEN 10 AND 7200),
    max_callers         smallint NOT NULL CHECK (max_callers BETWEEN 1 AND 500),
    announce_position   boolean NOT NULL,
    -- "Answered within N seconds" for the service level.
    service_level_secs  smallint NOT NULL CHECK (service_level_secs BETWEEN 5 AND 600),
    -- Where a caller goes after max_wait_secs, or when max_callers wait already: voicemail (a
    -- message for the queue's members), a number through the trunks, or nowhere (missed).
    overflow            text NOT NULL CHECK (overflow IN ('missed', 'voicemail', 'forward')),
    overflow_number     text CHECK (length(overflow_number) BETWEEN 2 AND 32),
    CHECK (overflow <> 'forward' OR overflow_number IS NOT NULL),
    -- Round robin: the member rung last.
    last_rung_user      bigint,
    created_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, name),
    UNIQUE (tenant_id, id)
);

-- Members: telephony users, or every telephony user of an access group (as it is when a call waits).
CREATE TABLE queue_members (
    tenant_id  bigint NOT NULL,
    queue_id   bigint NOT NULL,
    user_id    bigint,
    group_id   bigint,
    CHECK ((user_id IS NULL) <> (group_id IS NULL)),
    FOREIGN KEY (tenant_id, queue_id) REFERENCES queues (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, group_id) REFERENCES access_groups (tenant_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX queue_members_user ON queue_members (queue_id, user_id) WHERE user_id IS NOT NULL;
CREATE UNIQUE INDEX queue_members_group ON queue_members (queue_id, group_id) WHERE group_id IS NOT NULL;

ALTER TABLE queues ENABLE ROW LEVEL SECURITY;
ALTER TABLE queues FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON queues
    USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant());
ALTER TABLE queue_members ENABLE ROW LEVEL SECURITY;
ALTER TABLE queue_members FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON queue_members
    USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON queues, queue_members TO callbase_app, callbase_worker;

-- A call's time in a queue: when it joined (its place in line), how long it waited and how it left
-- (answered, abandoned — the caller hung up —, overflow). Kept when the queue is deleted, without it.
ALTER TABLE calls
    ADD COLUMN queue_id       bigint REFERENCES queues (id) ON DELETE SET NULL,
    ADD COLUMN queued_at      timestamptz,
    ADD COLUMN queue_wait_ms  integer,
    ADD COLUMN queue_outcome  text CHECK (queue_outcome IN ('answered', 'abandoned', 'overflow'));
-- The line: open calls of a queue in the order they joined.
CREATE INDEX calls_queue_line ON calls (queue_id, queued_at) WHERE ended_at IS NULL AND queue_id IS NOT NULL;
-- Today's figures of a queue (service level, abandons).
CREATE INDEX calls_queue_day ON calls (queue_id, queued_at) WHERE queue_id IS NOT NULL;

ALTER TABLE calls DROP CONSTRAINT calls_phase_check;
ALTER TABLE calls
    ADD CONSTRAINT calls_phase_check CHECK (phase IN ('setup', 'greeting', 'closed', 'ringing', 'dialing',
                                                      'queued', 'talking', 'consulting', 'parked',
                                                      'transferring', 'forwarded', 'voicemail', 'ended'));

-- Each trunk (its DID) chooses the first step of its inbound calls (issue #19, item 3): ring every
-- online agent (as before), a queue, or one user. A deleted queue or user leaves the reference NULL:
-- the calls ring everyone, and the routing page tells the administrator.
ALTER TABLE trunks
    ADD COLUMN first_step      text NOT NULL DEFAULT 'ring_all' CHECK (first_step IN ('ring_all', 'queue', 'user')),
    ADD COLUMN first_queue_id  bigint REFERENCES queues (id) ON DELETE SET NULL,
    ADD COLUMN first_user_id   bigint,
    ADD FOREIGN KEY (tenant_id, first_user_id) REFERENCES users (tenant_id, id) ON DELETE SET NULL (first_user_id);
