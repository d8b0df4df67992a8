//! What can go wrong in the CRM. `callbase-api` maps each variant to one HTTP status and keeps
//! the `code` (one `From<CrmError> for ApiError`).

use callbase_core::InputError;

#[derive(Debug, thiserror::Error)]
pub enum CrmError {
    /// No such table, field, record, import or call in this tenant (404 `not_found`).
    #[error("not found")]
    NotFound,
    /// A value, list query, file or setting that cannot be taken (422 with `code`).
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    /// Conflicts with what exists (409 with `code`): a name taken, an import started already.
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// The viewer sees numbers masked and asked for something that would reveal one (403
    /// `masked_numbers`).
    #[error("{0}")]
    Masked(String),
    /// Text with control characters, a page beyond the last (422 with the input's code).
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl CrmError {
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        CrmError::Invalid { code, message: message.into() }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        CrmError::Conflict { code, message: message.into() }
    }

    pub fn masked(message: impl Into<String>) -> Self {
        CrmError::Masked(message.into())
    }

    /// The stable code of a 4xx (`None` for the 5xx ones).
    pub fn code(&self) -> Option<&'static str> {
        match self {
            CrmError::NotFound => Some("not_found"),
            CrmError::Invalid { code, .. } | CrmError::Conflict { code, .. } => Some(code),
            CrmError::Masked(_) => Some("masked_numbers"),
            CrmError::Input(e) => Some(e.code()),
            CrmError::Db(_) | CrmError::Internal(_) => None,
        }
    }
}

pub type CrmResult<T> = Result<T, CrmError>;

/// A unique constraint's violation as a 409, other errors as they are.
pub(crate) fn on_constraint(
    e: sqlx::Error,
    constraint: &str,
    code: &'static str,
    message: impl FnOnce() -> String,
) -> CrmError {
    if callbase_db::constraint(&e) == Some(constraint) {
        CrmError::conflict(code, message())
    } else {
        CrmError::Db(e)
    }
}
