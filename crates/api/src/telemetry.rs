//! Logging: tracing events to stderr, as JSON lines by default.
//!
//! Lines are collected in a buffer of [`BUFFER_BYTES`] and written out when it is full, every
//! [`FLUSH_EVERY`], at once for warnings and errors, and when the process ends ([`flush`], also
//! run by the panic hook): writing each access line straight to stderr was a system call per
//! request. A line is always written whole.

use std::io::{self, BufWriter, Stderr, Write};
use std::sync::{LazyLock, Mutex, MutexGuard, Once};
use std::time::Duration;

use tracing::{Level, Metadata};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// Size of the buffer lines are collected in.
pub const BUFFER_BYTES: usize = 64 * 1024;
/// Longest a line waits in the buffer.
pub const FLUSH_EVERY: Duration = Duration::from_millis(100);

static OUT: LazyLock<Sink<Stderr>> = LazyLock::new(|| Sink::new(io::stderr(), BUFFER_BYTES));

/// A buffer in front of a writer, shared by every thread.
struct Sink<W: Write> {
    buffer: Mutex<BufWriter<W>>,
}

impl<W: Write> Sink<W> {
    fn new(inner: W, capacity: usize) -> Self {
        Self {
            buffer: Mutex::new(BufWriter::with_capacity(capacity, inner)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, BufWriter<W>> {
        self.buffer.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Buffers a whole line (a full buffer is written out first), written out now if `urgent`.
    fn line(&self, line: &[u8], urgent: bool) -> io::Result<()> {
        let mut buffer = self.lock();
        buffer.write_all(line)?;
        if urgent {
            buffer.flush()?;
        }
        Ok(())
    }

    fn flush(&self) -> io::Result<()> {
        self.lock().flush()
    }
}

/// Installs the global subscriber; a second call is a no-op.
pub fn init(filter: &str, json: bool) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(Buffered);
    let installed = if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    } else {
        builder.try_init()
    };
    if installed.is_ok() {
        start_flushing();
    }
}

/// Writes out the lines still buffered.
pub fn flush() {
    let _ = OUT.flush();
}

/// The periodic flush, and a flush before a panic's message.
fn start_flushing() {
    static STARTED: Once = Once::new();
    STARTED.call_once(|| {
        let spawned = std::thread::Builder::new()
            .name("log-flush".to_owned())
            .spawn(|| {
                loop {
                    std::thread::sleep(FLUSH_EVERY);
                    flush();
                }
            });
        if spawned.is_err() {
            // Without the thread, lines are still written when the buffer fills and at exit.
            tracing::warn!("could not start the log flush thread");
        }
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // A panic while writing a line holds the lock: skip the flush rather than wait.
            if let Ok(mut buffer) = OUT.buffer.try_lock() {
                let _ = buffer.flush();
            }
            previous(info);
        }));
    });
}

/// The subscriber's writer: each event is one `write` of a whole line.
struct Buffered;

/// One event's line; warnings and errors are written out at once.
struct Line {
    urgent: bool,
}

impl<'a> MakeWriter<'a> for Buffered {
    type Writer = Line;

    fn make_writer(&'a self) -> Line {
        Line { urgent: false }
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Line {
        Line {
            urgent: *meta.level() <= Level::WARN,
        }
    }
}

impl Write for Line {
    fn write(&mut self, line: &[u8]) -> io::Result<usize> {
        OUT.line(line, self.urgent)?;
        Ok(line.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        OUT.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(sink: &Sink<Vec<u8>>) -> String {
        String::from_utf8(sink.lock().get_ref().clone()).unwrap()
    }

    #[test]
    fn lines_wait_for_a_full_buffer_or_a_flush_and_urgent_ones_do_not() {
        let sink = Sink::new(Vec::new(), 32);
        sink.line(b"one: info\n", false).unwrap();
        sink.line(b"two: info\n", false).unwrap();
        assert_eq!(written(&sink), "");
        // The third does not fit: the first two are written, whole, and it waits.
        sink.line(b"three: a longer line\n", false).unwrap();
        assert_eq!(written(&sink), "one: info\ntwo: info\n");
        sink.line(b"four: warning\n", true).unwrap();
        assert_eq!(
            written(&sink),
            "one: info\ntwo: info\nthree: a longer line\nfour: warning\n"
        );
        sink.line(b"five\n", false).unwrap();
        sink.flush().unwrap();
        assert!(written(&sink).ends_with("four: warning\nfive\n"));
    }
}
