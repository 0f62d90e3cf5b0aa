//! A few dedicated threads for the exchange's blocking step (one indexed
//! read and a signature, ~20 µs of work).
//!
//! Run on the general blocking pool, each exchange woke one of many idle
//! threads and put it back to sleep: two futex calls and two context
//! switches per request, a third of the exchange's CPU. These threads take
//! jobs from one queue and run them back to back, so under load one wake-up
//! serves a whole batch; an idle thread sleeps on a condition variable and
//! costs nothing. The work stays off the async workers: a slow database
//! stalls these threads, never the event loop, and the request deadline
//! answers 503 as it does for any blocking work.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};

type Job = Box<dyn FnOnce() + Send>;

/// The shared queue and the stop flag.
#[derive(Default)]
struct Queue {
    jobs: Mutex<VecDeque<Job>>,
    ready: Condvar,
    stopping: AtomicBool,
}

/// A fixed set of threads running blocking jobs from one queue; they stop
/// when this is dropped (after the jobs already queued).
pub struct DedicatedThreads {
    queue: Arc<Queue>,
    count: usize,
}

impl std::fmt::Debug for DedicatedThreads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DedicatedThreads")
            .field("count", &self.count)
            .finish_non_exhaustive()
    }
}

/// Jobs waiting at most; more are refused at once (see [`JobRefused::Full`]).
pub const MAX_WAITING_JOBS: usize = 4096;

/// Why a job gave no result.
#[derive(Debug, thiserror::Error)]
pub enum JobRefused {
    /// [`MAX_WAITING_JOBS`] are waiting already: the threads are stalled
    /// (a stalled database) or far behind; refused without queueing.
    #[error("the {0} threads are {MAX_WAITING_JOBS} jobs behind")]
    Full(&'static str),
    /// The job panicked (the thread lives on).
    #[error("a job on the {0} threads panicked")]
    Panicked(&'static str),
}

impl DedicatedThreads {
    /// Starts `count` (at least one) threads named `name`.
    pub fn start(name: &'static str, count: usize) -> std::io::Result<Self> {
        let queue = Arc::new(Queue::default());
        let count = count.max(1);
        for i in 0..count {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn(move || work(&queue))?;
        }
        Ok(Self { queue, count })
    }

    /// How many jobs wait for a thread now.
    pub fn waiting(&self) -> usize {
        self.queue.jobs.lock().map_or(0, |j| j.len())
    }

    /// Runs `job` on one of the threads; its result. A panic in `job` is
    /// caught there. A job whose caller stopped waiting (its request timed
    /// out) is skipped when its turn comes, so a stall leaves no backlog
    /// of work nobody reads.
    pub async fn run<T: Send + 'static>(
        &self,
        name: &'static str,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, JobRefused> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let queued = self.push(Box::new(move || {
            if tx.is_closed() {
                return;
            }
            if let Ok(value) = std::panic::catch_unwind(AssertUnwindSafe(job)) {
                let _ = tx.send(value);
            }
        }));
        if !queued {
            return Err(JobRefused::Full(name));
        }
        rx.await.map_err(|_| JobRefused::Panicked(name))
    }

    /// Queues `job` unless [`MAX_WAITING_JOBS`] wait already.
    fn push(&self, job: Job) -> bool {
        let mut jobs = self.queue.jobs.lock().unwrap_or_else(|e| e.into_inner());
        if jobs.len() >= MAX_WAITING_JOBS {
            return false;
        }
        jobs.push_back(job);
        drop(jobs);
        self.queue.ready.notify_one();
        true
    }
}

impl Drop for DedicatedThreads {
    fn drop(&mut self) {
        self.queue.stopping.store(true, Ordering::Release);
        // Taken so no thread is between its check and its wait.
        drop(self.queue.jobs.lock());
        self.queue.ready.notify_all();
    }
}

/// A thread's loop: the next job, or sleep until there is one.
fn work(queue: &Queue) {
    loop {
        let job = {
            let mut jobs = queue.jobs.lock().unwrap_or_else(|e| e.into_inner());
            loop {
                if let Some(job) = jobs.pop_front() {
                    break job;
                }
                if queue.stopping.load(Ordering::Acquire) {
                    return;
                }
                jobs = queue.ready.wait(jobs).unwrap_or_else(|e| e.into_inner());
            }
        };
        job();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_jobs_off_the_caller_and_survives_a_panic() {
        let threads = DedicatedThreads::start("test", 2).unwrap();
        let caller = std::thread::current().id();
        let ran_on = threads
            .run("test", move || std::thread::current().id())
            .await;
        assert_ne!(ran_on.unwrap(), caller);
        let panicked = threads.run("test", || panic!("boom")).await;
        assert!(panicked.is_err());
        let results =
            futures_util::future::join_all((0..50).map(|i| threads.run("test", move || i * 2)))
                .await;
        let sum: i32 = results.into_iter().map(Result::unwrap).sum();
        assert_eq!(sum, (0..50).map(|i| i * 2).sum::<i32>());
    }

    fn poll_once<F: std::future::Future + Unpin>(f: &mut F) -> std::task::Poll<F::Output> {
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        std::pin::Pin::new(f).poll(&mut cx)
    }

    #[tokio::test]
    async fn a_stalled_thread_refuses_beyond_the_bound_and_skips_abandoned_jobs() {
        let threads = DedicatedThreads::start("stall-test", 1).unwrap();
        let (release, stalled) = std::sync::mpsc::channel::<()>();
        let first = threads.run("stall-test", move || stalled.recv().is_ok());
        let ran = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        // Polled once so the stalling job is queued and taken.
        let mut first = Box::pin(first);
        assert!(poll_once(&mut first).is_pending());
        let mut waiting = Vec::new();
        for _ in 0..MAX_WAITING_JOBS {
            let ran = ran.clone();
            let mut job = Box::pin(threads.run("stall-test", move || {
                ran.fetch_add(1, Ordering::Relaxed);
            }));
            let _ = poll_once(&mut job);
            waiting.push(job);
        }
        let refused = threads.run("stall-test", || ()).await;
        assert!(matches!(refused, Err(JobRefused::Full(_))), "{refused:?}");
        // The callers give up (their requests timed out): nothing runs.
        drop(waiting);
        release.send(()).unwrap();
        assert!(first.await.unwrap());
        threads.run("stall-test", || ()).await.unwrap();
        assert_eq!(
            ran.load(Ordering::Relaxed),
            0,
            "abandoned jobs were skipped"
        );
    }

    #[test]
    fn threads_stop_when_dropped() {
        let threads = DedicatedThreads::start("stop-test", 3).unwrap();
        let queue = Arc::downgrade(&threads.queue);
        drop(threads);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while queue.strong_count() > 0 {
            assert!(std::time::Instant::now() < deadline, "threads did not stop");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
}
