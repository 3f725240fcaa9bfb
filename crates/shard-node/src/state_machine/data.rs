//! openraft's snapshot data handle: an open snapshot file, never its contents in memory.
//!
//! The leader hands openraft a handle on its current snapshot file; openraft's chunked sender
//! seeks and reads `snapshot_max_chunk_size` bytes at a time from it. A follower receives into a
//! handle on a fresh file in its state machine directory (`incoming-N.tmp`), written chunk by
//! chunk at the offsets the leader sends; the state machine then restores from that file and
//! renames it into place. A handle keeps its file readable even after a newer snapshot has
//! replaced the name (the open file outlives the rename).

use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncSeek, AsyncWrite, AsyncWriteExt, ReadBuf};

/// An open snapshot file (openraft's `SnapshotData`).
#[derive(Debug)]
pub struct SnapshotData {
    file: tokio::fs::File,
    /// Set when this node created the file to receive a snapshot into.
    incoming: Option<PathBuf>,
}

impl SnapshotData {
    /// A handle for reading an existing snapshot file.
    pub(crate) fn reader(file: std::fs::File) -> Self {
        Self {
            file: tokio::fs::File::from_std(file),
            incoming: None,
        }
    }

    /// A handle on a new file at `path` that receives a snapshot.
    pub(crate) fn incoming(file: std::fs::File, path: PathBuf) -> Self {
        Self {
            file: tokio::fs::File::from_std(file),
            incoming: Some(path),
        }
    }

    /// Flushes pending writes and returns the blocking file and, for a receiving handle, its
    /// path.
    pub(crate) async fn into_std(mut self) -> io::Result<(std::fs::File, Option<PathBuf>)> {
        self.file.flush().await?;
        Ok((self.file.into_std().await, self.incoming))
    }
}

impl AsyncRead for SnapshotData {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.file).poll_read(cx, buf)
    }
}

impl AsyncWrite for SnapshotData {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.file).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.file).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.file).poll_shutdown(cx)
    }
}

impl AsyncSeek for SnapshotData {
    fn start_seek(mut self: Pin<&mut Self>, position: io::SeekFrom) -> io::Result<()> {
        Pin::new(&mut self.file).start_seek(position)
    }

    fn poll_complete(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        Pin::new(&mut self.file).poll_complete(cx)
    }
}
