//! Streaming a blocking writer into a response body: `/api/pages` runs
//! the query on a blocking thread and sends its output in chunks through
//! a small bounded channel, so the coordinator holds a few chunks, not
//! the whole answer, however large the store. When the client goes away
//! the channel closes, the next write fails and the query stops.

use std::io::Write;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::sync::mpsc;

/// Bytes per chunk sent to the client.
const CHUNK: usize = 64 * 1024;
/// Chunks in flight between the query thread and the connection.
const IN_FLIGHT: usize = 4;

/// The body side: a stream of chunks.
pub(crate) struct Chunks(mpsc::Receiver<std::io::Result<Vec<u8>>>);

impl futures_core::Stream for Chunks {
    type Item = std::io::Result<Vec<u8>>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

/// The query side: a blocking `Write` that sends full chunks.
pub(crate) struct ChunkWriter {
    tx: mpsc::Sender<std::io::Result<Vec<u8>>>,
    buf: Vec<u8>,
}

/// A connected writer and body stream.
pub(crate) fn channel() -> (ChunkWriter, Chunks) {
    let (tx, rx) = mpsc::channel(IN_FLIGHT);
    (ChunkWriter { tx, buf: Vec::with_capacity(CHUNK) }, Chunks(rx))
}

impl ChunkWriter {
    fn send(&mut self) -> std::io::Result<()> {
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        self.tx.blocking_send(Ok(chunk)).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away")
        })
    }

    /// Ends the body with an error (the client sees a truncated answer).
    pub(crate) fn fail(self, message: String) {
        let _ = self.tx.blocking_send(Err(std::io::Error::other(message)));
    }
}

impl Write for ChunkWriter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(b);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() { Ok(()) } else { self.send() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Chunks arrive in order and whole; a closed body stops the writer.
    #[test]
    fn chunks_flow_and_a_gone_client_stops_the_writer() {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let (mut w, mut body) = channel();
        let writer = std::thread::spawn(move || {
            for i in 0..(CHUNK / 10) * 3 {
                writeln!(w, "{:09}", i % 1_000_000_000).unwrap();
            }
            w.flush().unwrap();
        });
        let mut got = Vec::new();
        rt.block_on(async {
            while let Some(c) = body.0.recv().await {
                got.extend(c.unwrap());
            }
        });
        writer.join().unwrap();
        assert_eq!(got.len(), (CHUNK / 10) * 3 * 10);
        assert!(got.starts_with(b"000000000\n000000001\n"));

        let (mut w, body) = channel();
        drop(body);
        let err = w.write_all(&vec![b'x'; CHUNK]).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe);
    }
}
