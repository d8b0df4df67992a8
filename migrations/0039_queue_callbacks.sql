-- Queue callbacks (issue #19, item 5): a caller waiting in a queue that offers it presses 1 to be
-- called back and hangs up; the request keeps the caller's place in line (its time is when the
-- caller joined the queue) and is dialled when a member is free and no caller waits ahead: the
-- member's phone rings first, then the number is dialled as the member's own call (dial rules and
-- fraud limits apply). The worker of the caller's node dials it; a request is claimed with a lease
-- so a replica that dies mid-way leaves it to the next.
ALTER TABLE queues ADD COLUMN callback boolean NOT NULL DEFAULT false;

CREATE TABLE queue_callbacks (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id     bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    queue_id      bigint NOT NULL,
    node          text NOT NULL,
    -- E.164, as the caller's number was read.
    number        text NOT NULL CHECK (length(number) BETWEEN 2 AND 32),
    -- The caller's call (missed, "callback requested"), and its place in line.
    origin_call   uuid NOT NULL,
    requested_at  timestamptz NOT NULL,
    -- waiting → dialing (claimed until claimed_until) → done (the member talked to the caller) or
    -- failed (the number was refused, or nobody answered after the tries).
    state         text NOT NULL DEFAULT 'waiting' CHECK (state IN ('waiting', 'dialing', 'done', 'failed')),
    claimed_until timestamptz,
    tries         smallint NOT NULL DEFAULT 0,
    -- The callback call, who placed it and how it ended.
    call_id       uuid,
    user_id       bigint,
    finished_at   timestamptz,
    note          text,
    FOREIGN KEY (tenant_id, queue_id) REFERENCES queues (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX queue_callbacks_waiting ON queue_callbacks (node, requested_at) WHERE state IN ('waiting', 'dialing');

ALTER TABLE queue_callbacks ENABLE ROW LEVEL SECURITY;
ALTER TABLE queue_callbacks FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON queue_callbacks
    USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON queue_callbacks TO callbase_app, callbase_worker;

ALTER TABLE calls DROP CONSTRAINT calls_queue_outcome_check;
ALTER TABLE calls ADD CONSTRAINT calls_queue_outcome_check
    CHECK (queue_outcome IN ('answered', 'abandoned', 'overflow', 'callback'));

-- The missed-calls worklist (item 5): a missed call is "called back" by the first outbound call to
-- its number after it; this index finds it.
CREATE INDEX calls_tenant_number_started ON calls (tenant_id, number, started_at);
