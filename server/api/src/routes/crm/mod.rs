//! CRM routes: tables, typed fields, records (list with sorting, filters, quick search, pages;
//! create, edit, delete), CSV import and export, phone lookup (caller matching), the call card and
//! number masking. The rules live in `callbase_crm`; each route extracts, makes one call into it and
//! shapes the answer.
//!
//! Everyone signed in works with records; administrators shape tables and fields, import, and set
//! the CRM settings. Phone values are stored as typed plus their E.164 form (dial rules); members of
//! the masked groups see them masked in every response and export, and call them by reference
//! (`record`, `field`).

pub mod card;
pub mod import;
pub mod records;
pub mod settings;
pub mod tables;

use callbase_crm::Who;

use crate::auth::CurrentUser;

pub use callbase_core::crm::Masking;

/// The signed-in user as the CRM sees them.
pub(crate) fn who(cu: &CurrentUser) -> Who {
    Who {
        tenant: cu.tenant_id,
        user: cu.user_id,
        groups: cu.groups.iter().map(|g| g.0).collect(),
        admin: cu.role.is_admin(),
    }
}
