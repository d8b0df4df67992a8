//! A recording's life on its call record: the uploader's queue, retention, legal hold.
