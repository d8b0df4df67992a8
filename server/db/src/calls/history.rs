//! The call history (`GET /api/calls` and its audit): filtered, paged, visible per viewer.
