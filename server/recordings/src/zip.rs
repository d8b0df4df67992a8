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
use futures_util::{AsyncWriteExt, Stream, StreamExt};
use time::OffsetDateTime;
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

/// Bytes of recordings read ahead of the entry being written: reads start while the objects in
/// flight add up to at most this many bytes, so small objects get many reads in flight (their
/// per-object round trip bounds the archive: 1 000 objects of 240 KB) and large ones few (their
/// transfer does). A read resolves when the object's headers arrive; its body waits in the socket
/// (TCP flow control) and in hyper's read buffer, so memory stays flat whatever the budget.
pub const READ_AHEAD_BYTES: u64 = 2 * 1024 * 1024;
/// Reads in flight at least (the entry being written and the next) and at most.
const MIN_IN_FLIGHT: usize = 2;
const MAX_IN_FLIGHT: usize = 16;

/// How many of `sizes` (the next entries, in order) to have in flight: as many as fit in
/// [`READ_AHEAD_BYTES`], within [`MIN_IN_FLIGHT`]..=[`MAX_IN_FLIGHT`]. The bench's plain-S3 ceiling
/// reads with the same window.
pub fn in_flight(sizes: impl IntoIterator<Item = u64>) -> usize {
    let mut bytes = 0u64;
    let mut n = 0;
    for size in sizes {
        if n >= MAX_IN_FLIGHT || (n >= MIN_IN_FLIGHT && bytes + size > READ_AHEAD_BYTES) {
            break;
        }
        bytes += size;
        n += 1;
    }
    n
}

type Read = tokio_util::task::AbortOnDropHandle<Result<Option<crate::ObjectRead>, crate::StoreError>>;

/// Starts reading `e` on its own task, so its request goes out and its headers arrive while an
/// earlier entry is being written (a future only polled when awaited would wait for that).
/// Dropping the handle (the client went away) aborts it.
fn start_read(store: &ObjectStore, e: &Entry) -> Read {
    let (store, key) = (store.clone(), e.key.clone());
    tokio_util::task::AbortOnDropHandle::new(tokio::spawn(async move { store.read(&key, None).await }))
}

async fn write_archive(
    store: ObjectStore,
    entries: Vec<Entry>,
    writer: tokio::io::DuplexStream,
) -> io::Result<()> {
    let mut zip = ZipFileWriter::with_tokio(writer).force_no_zip64();
    let mut reads: std::collections::VecDeque<Read> = std::collections::VecDeque::new();
    for (i, e) in entries.iter().enumerate() {
        // Keep the window full: the reads of entries i.. that fit the budget are started.
        let want = in_flight(entries[i..].iter().map(|e| e.size));
        while reads.len() < want {
            reads.push_back(start_read(&store, &entries[i + reads.len()]));
        }
        let obj = reads.pop_front().expect("the window holds entry i").await.map_err(io::Error::other)?;
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
        // The body's own chunks, as hyper read them (no re-chunking through a copy buffer).
        let mut body = obj.body;
        while let Some(chunk) = body.try_next().await.map_err(io::Error::other)? {
            w.write_all(&chunk).await?;
        }
        w.close().await.map_err(io::Error::other)?;
    }
    // A client that went away closes the pipe: writes fail and the task ends here.
    zip.close().await.map_err(io::Error::other)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_read_ahead_window_follows_the_objects_sizes() {
        // 240 KB recordings: as many as fit 2 MiB.
        assert_eq!(in_flight(std::iter::repeat_n(240_000, 1000)), 8);
        // Tiny objects: the cap.
        assert_eq!(in_flight(std::iter::repeat_n(1_000, 1000)), MAX_IN_FLIGHT);
        // Large objects: the entry being written and the next, whatever their size.
        assert_eq!(in_flight(std::iter::repeat_n(50_000_000, 10)), MIN_IN_FLIGHT);
        // The end of the archive: what is left.
        assert_eq!(in_flight([240_000]), 1);
        assert_eq!(in_flight(std::iter::empty()), 0);
        // Mixed: counted in order, the window stops at the first object past the budget.
        assert_eq!(in_flight([1_000_000, 1_000_000, 100_000, 1]), 2);
    }
}
