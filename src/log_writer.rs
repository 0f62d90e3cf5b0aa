//! Where log lines go: into a bounded in-memory batch that a thread of its
//! own writes out every 50 ms (at once for warnings and errors), instead of
//! one `write` to stderr per line under a lock on the request's thread.
//!
//! At one access-log line per request, the write was a tenth of an
//! exchange's CPU; batched, a burst of lines costs one system call. A
//! stalled log pipe or a full disk never blocks a request either: past
//! [`MAX_PENDING_BYTES`] lines are dropped and counted, and the count is
//! written once the sink takes lines again.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;
use tracing_subscriber::fmt::MakeWriter;

/// Log bytes held for writing at most; more lines are dropped and counted.
pub const MAX_PENDING_BYTES: usize = 4 << 20;
/// How long a line waits before it is written, at most.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(50);

#[derive(Default)]
struct Pending {
    bytes: Vec<u8>,
    urgent: bool,
    stopping: bool,
}

struct Shared {
    pending: Mutex<Pending>,
    wake: Condvar,
    dropped: AtomicU64,
}

/// A `MakeWriter` for `tracing_subscriber` batching lines to a sink.
#[derive(Clone)]
pub struct BatchedLogWriter {
    shared: Arc<Shared>,
}

/// Writes what is pending and stops the writer thread when dropped (keep
/// it alive for as long as the process logs).
pub struct FlushOnDrop {
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl BatchedLogWriter {
    /// A writer batching to `sink` (stderr for the server), and the guard
    /// that flushes it.
    pub fn new(sink: impl Write + Send + 'static) -> (Self, FlushOnDrop) {
        let shared = Arc::new(Shared {
            pending: Mutex::new(Pending::default()),
            wake: Condvar::new(),
            dropped: AtomicU64::new(0),
        });
        let for_thread = shared.clone();
        let thread = std::thread::Builder::new()
            .name("log-writer".into())
            .spawn(move || write_out(&for_thread, sink))
            .ok();
        let guard = FlushOnDrop {
            shared: shared.clone(),
            thread,
        };
        (Self { shared }, guard)
    }

    fn push(&self, line: &[u8], urgent: bool) {
        let mut pending = self
            .shared
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if pending.bytes.len() + line.len() > MAX_PENDING_BYTES {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        pending.bytes.extend_from_slice(line);
        if urgent && !pending.urgent {
            pending.urgent = true;
            self.shared.wake.notify_one();
        }
    }
}

/// The writer thread: waits for a batch (or an urgent line), writes it.
fn write_out(shared: &Shared, mut sink: impl Write) {
    let mut batch = Vec::new();
    loop {
        let stopping = {
            let mut pending = shared.pending.lock().unwrap_or_else(|e| e.into_inner());
            if !pending.urgent && !pending.stopping {
                pending = shared
                    .wake
                    .wait_timeout(pending, FLUSH_INTERVAL)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
            std::mem::swap(&mut batch, &mut pending.bytes);
            pending.urgent = false;
            pending.stopping
        };
        let dropped = shared.dropped.swap(0, Ordering::Relaxed);
        if dropped > 0 {
            let note = format!(
                "patgate: {dropped} log lines dropped: the log output was not taking them\n"
            );
            batch.extend_from_slice(note.as_bytes());
        }
        if !batch.is_empty() {
            let _ = sink.write_all(&batch).and_then(|()| sink.flush());
            batch.clear();
        }
        if stopping {
            return;
        }
    }
}

impl Drop for FlushOnDrop {
    fn drop(&mut self) {
        let mut pending = self
            .shared
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        pending.stopping = true;
        drop(pending);
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One line's writer: the formatter writes a whole line at once.
pub struct LineWriter {
    to: BatchedLogWriter,
    urgent: bool,
}

impl Write for LineWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.to.push(buf, self.urgent);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for BatchedLogWriter {
    type Writer = LineWriter;

    fn make_writer(&'a self) -> LineWriter {
        LineWriter {
            to: self.clone(),
            urgent: false,
        }
    }

    fn make_writer_for(&'a self, meta: &tracing::Metadata<'_>) -> LineWriter {
        LineWriter {
            to: self.clone(),
            urgent: *meta.level() <= tracing::Level::WARN,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);
    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_arrive_in_order_and_all_are_written_at_drop() {
        let sink = Sink::default();
        let (writer, guard) = BatchedLogWriter::new(sink.clone());
        for i in 0..1000 {
            writeln!(writer.make_writer(), "line {i}").unwrap();
        }
        drop(guard);
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1000);
        assert_eq!(lines[999], "line 999");
    }

    #[test]
    fn a_sink_that_takes_nothing_costs_bounded_memory_and_the_loss_is_told() {
        /// Blocks every write until released.
        struct Stalled(Arc<(Mutex<bool>, Condvar)>, Sink);
        impl Write for Stalled {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                let (open, cv) = &*self.0;
                let mut open = open.lock().unwrap();
                while !*open {
                    open = cv.wait(open).unwrap();
                }
                self.1.write(buf)
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let gate = Arc::new((Mutex::new(false), Condvar::new()));
        let sink = Sink::default();
        let (writer, guard) = BatchedLogWriter::new(Stalled(gate.clone(), sink.clone()));
        let line = vec![b'x'; 1023];
        // Far more than the bound while the sink is stalled: never blocks.
        for _ in 0..(3 * MAX_PENDING_BYTES / 1024) {
            let mut w = writer.make_writer();
            w.write_all(&line).unwrap();
            w.write_all(b"\n").unwrap();
        }
        {
            let pending = writer.shared.pending.lock().unwrap();
            assert!(pending.bytes.len() <= MAX_PENDING_BYTES);
        }
        *gate.0.lock().unwrap() = true;
        gate.1.notify_all();
        drop(guard);
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        assert!(text.contains("log lines dropped"), "the loss is told");
    }
}
