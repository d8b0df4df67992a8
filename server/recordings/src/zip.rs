//! `records.zip`, streamed: the archive is written while the recordings are read from S3, through a
//! small in-memory pipe, so memory stays constant and no temporary file holds the archive.
//!
//! Entries are STORED (mp3 does not compress) with data descriptors, and zip64 is off: in its
//! default mode async_zip writes `0xFFFFFFFF` size records that streaming readers reject (see
//! docs/recordings.md). That limits an archive to 4 GiB and 65 535 files; the API's limits
//! (1 000 files, 2 GB) sit well inside.

use std::io;

use async_zip::base::write::ZipFileWriter;
use async_zip::{Compression, ZipDateTimeBuilder, ZipEntryBuilder};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use time::OffsetDateTime;
use tokio_util::compat::TokioAsyncReadCompatExt;
use tokio_util::io::ReaderStream;

use crate::ObjectStore;

/// One file of the archive.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: String,
    pub key: String,
    /// The object's size (from HEAD), for [`archive_size`].
    pub size: u64,
    pub modified: OffsetDateTime,
}

const LOCAL_HEADER: u64 = 30;
const DATA_DESCRIPTOR: u64 = 16;
const CENTRAL_HEADER: u64 = 46;
const END_OF_CENTRAL_DIR: u64 = 22;

/// The exact size of the archive [`stream`] writes for `entries` (STORE, no extra fields, data
/// descriptors): sent as `Content-Length`, so browsers show real progress.
pub fn archive_size(entries: &[Entry]) -> u64 {
    entries
        .iter()
        .map(|e| {
            let n = e.name.len() as u64;
            LOCAL_HEADER + n + e.size + DATA_DESCRIPTOR + CENTRAL_HEADER + n
        })
        .sum::<u64>()
        + END_OF_CENTRAL_DIR
}

/// Streams the archive of `entries`, read one after another from `store`. If an object cannot be
/// read half-way the stream ends with an error (the client sees a broken download, never a
/// truncated archive presented as complete).
pub fn stream(
    store: ObjectStore,
    entries: Vec<Entry>,
) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static {
    let (reader, writer) = tokio::io::duplex(256 * 1024);
    let task = tokio::spawn(write_archive(store, entries, writer));
    let tail = futures_util::stream::once(async move {
        match task.await {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(Err(e)),
            Err(e) => Some(Err(io::Error::other(e.to_string()))),
        }
    })
    .filter_map(|x| async move { x });
    ReaderStream::with_capacity(reader, 64 * 1024).chain(tail)
}

/// Requests to S3 in flight ahead of the entry being written. A read resolves when the object's
/// headers arrive; its body waits in the socket (TCP flow control), so memory stays flat while the
/// per-object round trip is hidden (sequential reads were bound by it: 1 000 small objects).
const READ_AHEAD: usize = 4;

async fn write_archive(
    store: ObjectStore,
    entries: Vec<Entry>,
    writer: tokio::io::DuplexStream,
) -> io::Result<()> {
    let mut zip = ZipFileWriter::with_tokio(writer).force_no_zip64();
    let mut reads = futures_util::stream::iter(entries)
        .map(|e| {
            let store = store.clone();
            async move {
                let obj = store.read(&e.key, None).await;
                (e, obj)
            }
        })
        .buffered(READ_AHEAD);
    while let Some((e, obj)) = reads.next().await {
        let Some(obj) = obj.map_err(|err| io::Error::other(err.to_string()))? else {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{} is missing from the object store", e.name),
            ));
        };
        let d = e.modified;
        let date = ZipDateTimeBuilder::new()
            .year(d.year())
            .month(u8::from(d.month()) as u32)
            .day(d.day() as u32)
            .hour(d.hour() as u32)
            .minute(d.minute() as u32)
            .second(d.second() as u32)
            .build();
        let builder = ZipEntryBuilder::new(e.name.clone().into(), Compression::Stored)
            .last_modification_date(date)
            .unix_permissions(0o644);
        let mut w = zip.write_entry_stream(builder).await.map_err(io::Error::other)?;
        let mut body = obj.body.into_async_read().compat();
        futures_util::io::copy(&mut body, &mut w).await?;
        w.close().await.map_err(io::Error::other)?;
    }
    // A client that went away closes the pipe: writes fail and the task ends here.
    zip.close().await.map_err(io::Error::other)?;
    Ok(())
}
