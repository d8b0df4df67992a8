-- Call parking (issue #18, item 5). An agent parks a connected call in one of the tenant's slots
-- (1–20): the customer waits alone in the call's bridge hearing music on hold and the agent's leg
-- ends; any agent picks it up (dialling *8<slot>, or Pick up in the phone); a call nobody picks up
-- rings the agent who parked it after the tenant's park timeout.
--
-- The parking is in the call record (phase `parked`, the slot, who parked it and when): the list
-- every phone shows, the slot's owner (one open call per slot and tenant), and what a new
-- controller continues after a restart (issue #16).
ALTER TABLE calls DROP CONSTRAINT calls_phase_check;
ALTER TABLE calls
    ADD CONSTRAINT calls_phase_check CHECK (phase IN ('setup', 'greeting', 'ringing', 'dialing', 'talking',
                                                      'consulting', 'parked', 'transferring', 'forwarded',
                                                      'ended')),
    ADD COLUMN park_slot smallint CHECK (park_slot BETWEEN 1 AND 20),
    ADD COLUMN parked_by bigint,
    ADD COLUMN parked_at timestamptz;
CREATE UNIQUE INDEX calls_park_slot ON calls (tenant_id, park_slot)
    WHERE park_slot IS NOT NULL AND ended_at IS NULL;

-- Seconds a parked call waits before it rings the agent who parked it.
ALTER TABLE telephony
    ADD COLUMN park_timeout_secs integer NOT NULL DEFAULT 60 CHECK (park_timeout_secs BETWEEN 5 AND 600);
