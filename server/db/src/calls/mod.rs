//! The `calls` table: the only module with SQL on it. A call record is written by the call actors
//! (`live`), read by the call history (`history`), and carries its recording's life (`recording`).

pub mod control;
pub mod history;
pub mod links;
pub mod live;
pub mod parking;
pub mod quality;
pub mod recording;
pub mod settings;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Who started the call (the `direction` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum CallDirection {
    Inbound,
    Outbound,
    Internal,
}

impl CallDirection {
    pub fn as_str(self) -> &'static str {
        match self {
            CallDirection::Inbound => "inbound",
            CallDirection::Outbound => "outbound",
            CallDirection::Internal => "internal",
        }
    }
}

/// How a call ended (the `result` column; NULL while it is in progress).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum CallResult {
    Answered,
    Missed,
    Busy,
    Failed,
    /// Refused by the dial rules or the fraud guard before it reached a trunk.
    Refused,
    /// Unanswered, then sent to the tenant's forward number.
    Forwarded,
}

impl CallResult {
    pub fn as_str(self) -> &'static str {
        match self {
            CallResult::Answered => "answered",
            CallResult::Missed => "missed",
            CallResult::Busy => "busy",
            CallResult::Failed => "failed",
            CallResult::Refused => "refused",
            CallResult::Forwarded => "forwarded",
        }
    }
}

/// A recording's life on the call record: recording (Asterisk is recording) → pending (the
/// uploader owes S3 a copy) → stored → deleted (retention); failed after the uploader gave up;
/// waiting while the Asterisk node that holds the file does not answer (back to pending when it
/// does); lost when that node was declared gone before S3 had the file (migration 0023).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum RecordingState {
    Recording,
    Pending,
    Waiting,
    Stored,
    Failed,
    Deleted,
    Lost,
}

impl RecordingState {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordingState::Recording => "recording",
            RecordingState::Pending => "pending",
            RecordingState::Stored => "stored",
            RecordingState::Failed => "failed",
            RecordingState::Deleted => "deleted",
            RecordingState::Waiting => "waiting",
            RecordingState::Lost => "lost",
        }
    }
}
