-- Recordings and nodes that die (issue #17): a recording waits for the node that holds its file, and
-- an operator may declare a node gone for good, which loses what still waited on it.
--
--   nodes.state 'gone'       the node will not come back (`callbase node state NODE gone`, or
--                            `PUT /platform/nodes/{id}/state`): placement passes it over (it is not
--                            live), the edge's dispatcher view leaves it out, no replica runs its
--                            workers or asks it for anything. Allowed only once no tenant is on it.
--   calls.recording_state    'waiting': its node does not answer (or is down); the uploader asks the
--                            node again now and then (server/recordings/src/uploader.rs) and queues
--                            its recordings when it answers. 'lost': the node was declared gone (or
--                            did not answer within recordings.node_wait_max_hours) before the file
--                            reached S3; `recording_error` says so.
--
-- Written so that applying it twice is harmless: the shared test database gets it by hand before
-- `callbase migrate` records it.

ALTER TABLE nodes DROP CONSTRAINT IF EXISTS nodes_state_check;
ALTER TABLE nodes ADD CONSTRAINT nodes_state_check CHECK (state IN ('live', 'draining', 'down', 'gone'));

ALTER TABLE calls DROP CONSTRAINT IF EXISTS calls_recording_state_check;
ALTER TABLE calls ADD CONSTRAINT calls_recording_state_check
    CHECK (recording_state IN ('recording', 'pending', 'waiting', 'stored', 'failed', 'deleted', 'lost'));

-- The uploader's "which nodes do recordings wait for" (a handful of rows among millions).
CREATE INDEX IF NOT EXISTS calls_recording_waiting ON calls (node) WHERE recording_state = 'waiting';

-- The dispatcher sees the nodes that may take calls: neither down nor gone.
CREATE OR REPLACE VIEW kamailio.dispatcher AS
    SELECT n.set_id AS id,
           n.set_id AS setid,
           'sip:' || n.sip_addr AS destination,
           0 AS flags,
           0 AS priority,
           ''::text AS attrs,
           n.id AS description
      FROM public.nodes n
     WHERE n.sip_addr IS NOT NULL AND n.state IN ('live', 'draining');
