//! Slow software signatures (ML-DSA, composite, RSA) on threads of their own, one per core.
//!
//! Tokio's blocking pool parks a thread after every job and wakes one for the next, and more
//! signing threads than cores only time-slice the cores and evict each other's keys from cache
//! (measured: ML-DSA-65 tokens cost 2.0 ms of CPU each with 8 signing threads on 2 cores,
//! against 1.5 ms raw). Here a fixed set of threads drains one queue that holds a few jobs per
//! thread, so under load a thread finishes one signature and starts the next without sleeping.

use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use tokio::sync::{Semaphore, oneshot};

type Job = Box<dyn FnOnce() + Send>;

/// Jobs queued per thread beyond the one it runs: enough that a thread never waits for the
/// reactor to hand it work, few enough that a queued request's wait stays short.
const QUEUED_PER_THREAD: usize = 2;

/// A fixed set of threads for CPU work, with a bounded queue.
pub struct CpuPool {
    threads: usize,
    queue: SyncSender<Job>,
    /// A permit per queue slot, awaited before a job is queued, so that callers wait in
    /// tokio rather than block a reactor thread on a full channel.
    slots: Arc<Semaphore>,
}

#[derive(Debug, thiserror::Error)]
/// Why a job did not run to its end.
pub enum PoolError {
    /// The pool's threads are gone (the server is stopping).
    #[error("the signing threads have stopped")]
    Stopped,
    /// The job panicked; the thread goes on.
    #[error("the signing job panicked")]
    Panicked,
}

impl CpuPool {
    /// Starts `threads` signing threads.
    pub fn start(threads: usize) -> std::io::Result<Self> {
        Self::start_named("signer", threads, 0)
    }

    /// Starts `threads` threads named `name-N`, at scheduling priority `nice` (0: the
    /// process's; higher: yield the cores to the others, as the verification page's threads
    /// do to signing).
    pub fn start_named(name: &str, threads: usize, nice: i32) -> std::io::Result<Self> {
        let threads = threads.max(1);
        let capacity = threads * (1 + QUEUED_PER_THREAD);
        let (queue, jobs) = sync_channel::<Job>(capacity);
        let jobs = Arc::new(Mutex::new(jobs));
        for i in 0..threads {
            let jobs = jobs.clone();
            std::thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn(move || {
                    if nice != 0 {
                        // On Linux a thread id names the thread alone. Best effort: a thread
                        // left at normal priority is still bounded in number.
                        let _ = rustix::process::setpriority_process(
                            Some(rustix::thread::gettid()),
                            nice,
                        );
                    }
                    drain(&jobs)
                })?;
        }
        Ok(Self {
            threads,
            queue,
            slots: Arc::new(Semaphore::new(capacity)),
        })
    }

    /// How many whole rounds of signatures — one per thread — a job queued now must wait for
    /// before it can start, whatever the running ones have left. Jobs are taken in order, so
    /// with `j` running or queued on `t` threads the new one starts at the `(j - t + 1)`th
    /// completion, which comes no sooner than `(j - t) / t` full signatures from now.
    pub fn rounds_ahead(&self) -> u32 {
        let capacity = self.threads * (1 + QUEUED_PER_THREAD);
        let busy = capacity.saturating_sub(self.slots.available_permits());
        u32::try_from(busy.saturating_sub(self.threads) / self.threads).unwrap_or(u32::MAX)
    }

    /// Runs `f` on a signing thread and waits for its result. A panic in `f` is caught there:
    /// the thread lives on and the caller gets [`PoolError::Panicked`].
    pub async fn run<R: Send + 'static>(
        &self,
        f: impl FnOnce() -> R + Send + 'static,
    ) -> Result<R, PoolError> {
        let slot = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| PoolError::Stopped)?;
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _slot = slot;
            let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
            let _ = tx.send(out.map_err(|_| PoolError::Panicked));
        });
        // The permit guarantees room, so the channel is full only if the threads are gone.
        match self.queue.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                return Err(PoolError::Stopped);
            }
        }
        rx.await.map_err(|_| PoolError::Stopped)?
    }
}

fn drain(jobs: &Mutex<Receiver<Job>>) {
    loop {
        // The lock is held only while taking a job, never while running one.
        let job = match jobs.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        match job {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_jobs_and_survives_a_panic() {
        let pool = CpuPool::start(2).unwrap();
        assert_eq!(pool.run(|| 6 * 7).await.unwrap(), 42);
        let r = pool.run(|| -> u32 { panic!("boom") }).await;
        assert!(matches!(r, Err(PoolError::Panicked)));
        // Both threads still serve, and more jobs than queue slots all finish.
        let pool = Arc::new(pool);
        let mut handles = Vec::new();
        for i in 0..64u64 {
            let p = pool.clone();
            handles.push(tokio::spawn(async move { p.run(move || i * 2).await }));
        }
        let mut sum = 0;
        for h in handles {
            sum += h.await.unwrap().unwrap();
        }
        assert_eq!(sum, (0..64u64).map(|i| i * 2).sum::<u64>());
    }

    #[tokio::test]
    async fn counts_the_rounds_queued_ahead() {
        let pool = Arc::new(CpuPool::start(2).unwrap());
        assert_eq!(pool.rounds_ahead(), 0);
        // Hold both threads and fill the queue: 6 jobs on 2 threads, so a seventh would
        // start only after two full rounds have finished.
        let gate = Arc::new(std::sync::Barrier::new(3));
        let mut held = Vec::new();
        for _ in 0..6 {
            let p = pool.clone();
            let g = gate.clone();
            held.push(tokio::spawn(async move {
                p.run(move || {
                    g.wait();
                })
                .await
            }));
        }
        while pool.slots.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        assert_eq!(pool.rounds_ahead(), 2);
        for _ in 0..3 {
            let g = gate.clone();
            tokio::task::spawn_blocking(move || g.wait()).await.unwrap();
        }
        for h in held {
            h.await.unwrap().unwrap();
        }
    }
}
