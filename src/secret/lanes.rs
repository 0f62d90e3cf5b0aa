//! Separate, bounded queues for secret hashing: cold PAT exchanges, sign-in
//! and client authentication (client secrets, code redemption, device polls)
//! each have their own turns, so a flood of one never delays the others.
//! Work beyond a lane's queue, or that waited too long, is refused at once
//! (the web layer answers 503 with `Retry-After`) instead of waiting seconds.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{Semaphore, SemaphorePermit};

/// Which kind of hashing work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// A PAT whose secret is not in the verified cache.
    Exchange,
    /// A password at sign-in.
    SignIn,
    /// A client secret (token, revocation, introspection, device endpoints).
    Client,
}

/// Why no turn was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NoTurn {
    /// The lane's queue is full, or the wait ran out.
    #[error("the {0:?} hashing queue is full")]
    Busy(Lane),
    /// The process is shutting down.
    #[error("shutting down")]
    Closed,
}

struct Queue {
    permits: Semaphore,
    waiting: AtomicUsize,
}

impl Queue {
    fn new(permits: usize) -> Self {
        Self {
            permits: Semaphore::new(permits.max(1)),
            waiting: AtomicUsize::new(0),
        }
    }
}

/// The three lanes, with their turns, queue bound and longest wait.
pub struct HashingLanes {
    exchange: Queue,
    sign_in: Queue,
    client: Queue,
    max_waiting: usize,
    max_wait: Duration,
    turns: usize,
}

impl std::fmt::Debug for HashingLanes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashingLanes")
            .field("max_waiting", &self.max_waiting)
            .finish()
    }
}

impl Lane {
    /// The lane's name in metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Lane::Exchange => "exchange",
            Lane::SignIn => "sign_in",
            Lane::Client => "client",
        }
    }

    /// Every lane.
    pub const ALL: [Lane; 3] = [Lane::Exchange, Lane::SignIn, Lane::Client];
}

/// Leaves the queue count when the wait ends, however it ends.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl HashingLanes {
    /// `concurrent` turns for exchanges and half as many (at least one) for
    /// sign-in and for clients; at most `max_waiting` waiting per lane, for
    /// at most `max_wait`.
    pub fn new(concurrent: usize, max_waiting: usize, max_wait: Duration) -> Self {
        let half = (concurrent / 2).max(1);
        Self {
            exchange: Queue::new(concurrent),
            sign_in: Queue::new(half),
            client: Queue::new(half),
            max_waiting,
            max_wait,
            turns: concurrent.max(1) + 2 * half,
        }
    }

    /// How many hashing computations may run at once across all lanes (each
    /// holds one argon2 memory area).
    pub fn total_turns(&self) -> usize {
        self.turns
    }

    /// How many verifications wait for a turn in `lane` now.
    pub fn waiting(&self, lane: Lane) -> usize {
        self.queue(lane).waiting.load(Ordering::Relaxed)
    }

    fn queue(&self, lane: Lane) -> &Queue {
        match lane {
            Lane::Exchange => &self.exchange,
            Lane::SignIn => &self.sign_in,
            Lane::Client => &self.client,
        }
    }

    /// A turn in `lane`: at once when one is free, after a bounded wait
    /// otherwise, or [`NoTurn::Busy`].
    pub async fn turn(&self, lane: Lane) -> Result<SemaphorePermit<'_>, NoTurn> {
        let queue = self.queue(lane);
        if let Ok(permit) = queue.permits.try_acquire() {
            return Ok(permit);
        }
        if queue.waiting.fetch_add(1, Ordering::AcqRel) >= self.max_waiting {
            queue.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(NoTurn::Busy(lane));
        }
        let _waiting = Waiting(&queue.waiting);
        match tokio::time::timeout(self.max_wait, queue.permits.acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_)) => Err(NoTurn::Closed),
            Err(_) => Err(NoTurn::Busy(lane)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn a_full_lane_refuses_at_once_and_others_still_give_turns() {
        let lanes = HashingLanes::new(1, 1, Duration::from_secs(2));
        let held = lanes.turn(Lane::Exchange).await.unwrap();
        // One may wait; it gives up after the longest wait.
        let waiter = lanes.turn(Lane::Exchange);
        tokio::pin!(waiter);
        assert!(futures_util::future::poll_immediate(&mut waiter)
            .await
            .is_none());
        // The queue is full: refused without waiting.
        assert_eq!(
            lanes.turn(Lane::Exchange).await.unwrap_err(),
            NoTurn::Busy(Lane::Exchange)
        );
        // Sign-in and clients are not behind the exchanges.
        drop(lanes.turn(Lane::SignIn).await.unwrap());
        drop(lanes.turn(Lane::Client).await.unwrap());
        tokio::time::advance(Duration::from_secs(3)).await;
        assert_eq!(waiter.await.unwrap_err(), NoTurn::Busy(Lane::Exchange));
        drop(held);
        drop(lanes.turn(Lane::Exchange).await.unwrap());
    }
}
