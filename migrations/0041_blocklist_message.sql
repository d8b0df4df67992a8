-- Blocklist (issue #19, item 6): a blocked caller is rejected before the answer (SIP 403, as
-- before) or hears a message — "the number you have dialed is not in service", in the account's
-- prompt language — and is hung up; either way nothing rings and the call is counted.
ALTER TABLE blocked_numbers
    ADD COLUMN action text NOT NULL DEFAULT 'reject' CHECK (action IN ('reject', 'message'));
