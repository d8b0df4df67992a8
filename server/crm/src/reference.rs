//! A client's number by reference: `crm<record>x<field>`, the phone field `field` of the record
//! `record`. Masked agents' phones show it as the caller's number and dial it back; click-to-call
//! sends it to the Stasis worker, which looks the number up inside the tenant. The only place the
//! form is written and read. Letters and digits only: the dialplan's pattern takes nothing else.

use std::fmt;

use callbase_core::{FieldId, RecordId};

/// A phone field of a CRM record, as a dialable extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientRef {
    pub record: RecordId,
    pub field: FieldId,
}

impl ClientRef {
    pub fn new(record: RecordId, field: FieldId) -> Self {
        ClientRef { record, field }
    }

    /// `crm<record>x<field>` (digits only) → the reference; anything else → `None`.
    pub fn parse(exten: &str) -> Option<ClientRef> {
        let (r, f) = exten.strip_prefix("crm")?.split_once('x')?;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !(digits(r) && digits(f)) {
            return None;
        }
        Some(ClientRef { record: RecordId(r.parse().ok()?), field: FieldId(f.parse().ok()?) })
    }
}

impl fmt::Display for ClientRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "crm{}x{}", self.record.0, self.field.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reference_reads_back_as_it_was_written() {
        let r = ClientRef::new(RecordId(12), FieldId(345));
        assert_eq!(r.to_string(), "crm12x345");
        assert_eq!(ClientRef::parse("crm12x345"), Some(r));
    }

    #[test]
    fn anything_but_crm_digits_x_digits_is_not_a_reference() {
        for bad in [
            "crm12",
            "crmx2",
            "crm1x",
            "crm+1x2",
            "crmax1",
            "79161234567",
            "crm1x2x3",
            "crm-1-2",
            "crm99999999999999999999x1",
            "CRM1x2",
        ] {
            assert_eq!(ClientRef::parse(bad), None, "{bad}");
        }
    }
}
