-- Forward to the user's mobile (issue #18, item 6): a call to a telephony user none of whose
-- devices is online goes to their mobile number through the tenant's trunks (the dial rules and
-- the fraud limits decide, as for every call out).
ALTER TABLE telephony_users ADD COLUMN mobile_number text CHECK (length(mobile_number) BETWEEN 1 AND 32);
