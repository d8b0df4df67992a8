-- The language of the prompts callers hear (issue #19): position in a queue, "press 1 to be called
-- back", voicemail's "leave your message", a menu's "that is not valid". Debian's core sounds in
-- English and Russian are in the Asterisk rootfs (infra/lib/asterisk.sh, rootfs_sounds); the call
-- control sets the caller channel's CHANNEL(language) from this.
ALTER TABLE telephony
    ADD COLUMN prompt_language text NOT NULL DEFAULT 'en' CHECK (prompt_language IN ('en', 'ru'));
