//! CSV export of a list as the viewer sees it: the current filters and sort, every page (at most
//! [`ROWS_MAX`] rows). Cells a spreadsheet would run as formulas are neutralised; masked viewers
//! get masked numbers.

use callbase_core::crm::{self as core_crm, FieldKind};
use callbase_core::TableId;
use callbase_db::Db;

use crate::error::CrmResult;
use crate::list::{parse, with_hits, ListParams};
use crate::repo;
use crate::shape::{table_or_404, Shaper};
use crate::view::{Viewer, Who};

/// Rows read per query.
const CHUNK: i64 = 5000;
/// Most rows in one export.
pub const ROWS_MAX: i64 = 100_000;

/// An export: the file and the name to save it as.
pub struct Export {
    /// `<table name>.csv`, letters and digits only otherwise.
    pub file_name: String,
    /// UTF-8 CSV.
    pub body: Vec<u8>,
}

pub async fn export_csv(db: &Db, who: &Who, table: TableId, p: ListParams) -> CrmResult<Export> {
    let mut tx = db.tenant_tx(who.tenant).await?;
    let viewer = Viewer::load(&mut tx, who).await?;
    let t = table_or_404(&mut tx, who.tenant, table).await?;
    let sh = Shaper::load(&mut tx, &viewer, table).await?;
    let mut q = parse(
        &sh.fields,
        viewer.masking,
        &viewer.rules,
        table,
        &ListParams { page: Some(1), per_page: Some(1), ..p },
    )?;
    with_hits(db, &mut q, who.tenant).await?;
    repo::list::drive(&mut tx, who.tenant, &mut q, repo::list::COLLECT_MAX).await?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let header: Vec<String> = sh.fields.iter().map(|f| core_crm::csv_safe(&f.name)).collect();
    w.write_record(&header).map_err(anyhow::Error::from)?;
    q.limit = CHUNK;
    q.offset = 0;
    let mut written = 0;
    loop {
        let page = repo::list::page(&mut tx, who.tenant, &q).await?;
        for r in &page.rows {
            let rec = sh.record(r);
            let cells: Vec<String> = sh
                .fields
                .iter()
                .map(|f| {
                    let s = match (f.kind(), rec.values.get(&f.key())) {
                        // A number that could be normalised goes out in E.164 (spreadsheets keep
                        // it as text); others as typed (neutralised below if need be).
                        (FieldKind::Phone, Some(v)) if !viewer.is_masked() => {
                            match rec.phones.get(&f.key()).and_then(|p| p.e164.clone()) {
                                Some(e) => e,
                                None => v.as_str().unwrap_or_default().to_string(),
                            }
                        }
                        _ => sh.display(f, &rec),
                    };
                    core_crm::csv_safe(&s)
                })
                .collect();
            w.write_record(&cells).map_err(anyhow::Error::from)?;
        }
        written += page.rows.len() as i64;
        // Keyset pages: each chunk starts where the last ended, whatever the depth.
        match page.next {
            Some(next) if written < ROWS_MAX => q.after = Some(next),
            _ => break,
        }
    }
    tx.commit().await?;
    let body = w.into_inner().map_err(|e| anyhow::anyhow!(e.to_string()))?;
    let file_name = format!("{}.csv", t.name.replace(|c: char| !c.is_alphanumeric(), "_"));
    Ok(Export { file_name, body })
}
