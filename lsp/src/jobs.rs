//! Work computed once off the request path (on tokio's blocking pool, or the analyses'
//! own thread, [`Worker`]) and shared by every
//! task that needs it: the parse of a document version, the analysis of a deployment.
//!
//! A [`Job`] keeps running when a waiter is cancelled, so its result is still cached for
//! the next request. A gated job first waits for its gate (one analysis at a time, so a
//! 2-core machine keeps a core for requests) and is skipped when, by then, it is no longer
//! wanted (a newer edit arrived): superseded work is never started, and waiters get `None`.

use std::ops::Deref;
use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

/// A value whose destruction is moved off the async threads: dropping the syntax tree or
/// the analysis of a 10,000-domain file takes tens of milliseconds, which must not stall
/// the request that happened to hold the last reference.
#[derive(Debug)]
pub struct Retire<T: Send + 'static>(Option<T>);

impl<T: Send + 'static> Retire<T> {
    pub fn new(value: T) -> Self {
        Self(Some(value))
    }
}

impl<T: Send + 'static> Deref for Retire<T> {
    type Target = T;
    fn deref(&self) -> &T {
        match &self.0 {
            Some(v) => v,
            // Only `drop` takes the value out.
            None => unreachable!("a retired value is only taken by drop"),
        }
    }
}

thread_local! {
    /// Set while a job's work runs (on the blocking pool or a [`Worker`]): a value retired there is
    /// dropped at once, where the work can count on it being gone.
    static IN_JOB: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Marks the current thread as running a job's work until dropped (a panic included).
struct InJob;

impl InJob {
    fn enter() -> Self {
        IN_JOB.with(|f| f.set(true));
        InJob
    }
}

impl Drop for InJob {
    fn drop(&mut self) {
        IN_JOB.with(|f| f.set(false));
    }
}

impl<T: Send + 'static> Drop for Retire<T> {
    fn drop(&mut self) {
        if IN_JOB.with(std::cell::Cell::get) {
            return;
        }
        if let (Some(v), Ok(rt)) = (self.0.take(), tokio::runtime::Handle::try_current()) {
            rt.spawn_blocking(move || {
                crate::trace::trace!("retire: drop");
                drop(v);
                crate::trace::trace!("retire: dropped");
            });
        }
    }
}

/// A task for a [`Worker`].
type Task = Box<dyn FnOnce() + Send>;

/// One long-lived thread that runs the analyses, one after another. An analysis of
/// 10,000 domains allocates a hundred MiB on the way (the trees, the checks, resolution's
/// tables) and frees most of it; the allocator (mimalloc: a heap per thread) keeps a
/// thread's freed pages for that thread's next allocations. On the blocking pool each
/// analysis ran on whichever of its threads was idle, and each such thread kept an
/// analysis's worth of pages: the server's resident memory rose from 110 to 190-220 MiB
/// within a few edits while its live heap did not grow (dhat). On one thread the next
/// analysis reuses the pages of the last one.
pub struct Worker(std::sync::mpsc::Sender<Task>);

impl Worker {
    /// Start the thread (it ends when the worker is dropped); `None` if it cannot start.
    pub fn start(name: &str) -> Option<Arc<Self>> {
        let (tx, rx) = std::sync::mpsc::channel::<Task>();
        // The tasks retire values and start jobs: they run inside the server's runtime.
        let runtime = tokio::runtime::Handle::try_current().ok();
        std::thread::Builder::new()
            .name(name.to_string())
            .spawn(move || {
                let _runtime = runtime.as_ref().map(tokio::runtime::Handle::enter);
                while let Ok(task) = rx.recv() {
                    // A job's work is caught inside its task; this keeps the thread (and
                    // the memory it reuses) alive should anything else in a task panic.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(task));
                }
            })
            .ok()?;
        Some(Arc::new(Worker(tx)))
    }

    /// Run `task` on the worker's thread (on the blocking pool if the thread is gone).
    fn run(&self, task: impl FnOnce() + Send + 'static) {
        if let Err(std::sync::mpsc::SendError(task)) = self.0.send(Box::new(task)) {
            drop(tokio::task::spawn_blocking(task));
        }
    }
}

/// A shared, finished value.
pub type Shared<T> = Arc<Retire<T>>;

#[derive(Debug)]
enum Status<T: Send + 'static> {
    Running,
    Done(Shared<T>),
    /// Skipped: superseded before it started.
    Skipped,
    /// The work panicked (the message).
    Failed(String),
}

/// Why a job has no value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobError {
    /// Superseded before it started.
    Skipped,
    /// The work panicked, with this message.
    Failed(String),
}

/// A computation running on the blocking pool (or a [`Worker`]), awaited by any number of tasks.
#[derive(Debug)]
pub struct Job<T: Send + Sync + 'static>(watch::Receiver<Status<T>>);

impl<T: Send + Sync + 'static> Clone for Job<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T: Send + Sync + 'static> Job<T> {
    /// Start `work` now.
    #[cfg(test)]
    pub fn start(work: impl FnOnce() -> T + Send + 'static) -> Self {
        Self::spawn(None, || true, work, |_| {})
    }

    /// Start `work` once `gate` lets it through, unless `wanted` then says it is stale.
    #[cfg(test)]
    pub fn gated(
        gate: Arc<Semaphore>,
        wanted: impl FnOnce() -> bool + Send + 'static,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Self {
        Self::spawn(Some(gate), wanted, work, |_| {})
    }

    /// Like [`Job::gated`] (no gate when `gate` is `None`), and `done` is told the value
    /// before any waiter.
    ///
    /// When the gate is open (or there is none), the work is handed to the blocking pool
    /// from here, and the blocking thread itself tells `done` and the waiters: a request
    /// waiting for the value (a completion right behind an edit, waiting for the edit's
    /// re-parse) is woken by the thread that computed it, with no async task in between
    /// (each hop between threads is a wake-up that a busy machine can delay by
    /// milliseconds). Only a job that must wait for its gate goes through a task.
    pub fn spawn(
        gate: Option<Arc<Semaphore>>,
        wanted: impl FnOnce() -> bool + Send + 'static,
        work: impl FnOnce() -> T + Send + 'static,
        done: impl FnOnce(&Shared<T>) + Send + 'static,
    ) -> Self {
        Self::spawn_on(None, gate, wanted, work, done)
    }

    /// Like [`Job::spawn`], on `worker`'s thread rather than the blocking pool when given.
    pub fn spawn_on(
        worker: Option<Arc<Worker>>,
        gate: Option<Arc<Semaphore>>,
        wanted: impl FnOnce() -> bool + Send + 'static,
        work: impl FnOnce() -> T + Send + 'static,
        done: impl FnOnce(&Shared<T>) + Send + 'static,
    ) -> Self {
        let (tx, rx) = watch::channel(Status::Running);
        let run = move |permit: Option<OwnedSemaphorePermit>| {
            let task = move || {
                let _permit = permit;
                if !wanted() {
                    let _ = tx.send(Status::Skipped);
                    return;
                }
                let finished = {
                    let _in_job = InJob::enter();
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(work))
                        .map(|v| Arc::new(Retire::new(v)))
                };
                // Out of the job: what `done` replaces is retired off this thread.
                let _ = tx.send(match finished {
                    Ok(v) => {
                        done(&v);
                        Status::Done(v)
                    }
                    Err(payload) => Status::Failed(crate::guard::panic_message(payload.as_ref())),
                });
            };
            match worker {
                Some(w) => w.run(task),
                None => drop(tokio::task::spawn_blocking(task)),
            }
        };
        match gate {
            None => run(None),
            Some(g) => match Arc::clone(&g).try_acquire_owned() {
                Ok(permit) => run(Some(permit)),
                Err(_) => {
                    tokio::spawn(async move {
                        // Closed: the permit is `None` and the work runs ungated (the gates
                        // are never closed).
                        run(g.acquire_owned().await.ok());
                    });
                }
            },
        }
        Self(rx)
    }

    /// A job already done, with its value.
    pub fn finished(value: T) -> (Self, Shared<T>) {
        let value = Arc::new(Retire::new(value));
        let (_, rx) = watch::channel(Status::Done(Arc::clone(&value)));
        (Self(rx), value)
    }

    /// The value, if finished.
    #[cfg(test)]
    pub fn ready(&self) -> Option<Shared<T>> {
        match &*self.0.borrow() {
            Status::Done(v) => Some(Arc::clone(v)),
            _ => None,
        }
    }

    /// Whether the job was skipped (it will never have a value).
    pub fn skipped(&self) -> bool {
        matches!(&*self.0.borrow(), Status::Skipped)
    }

    /// Wait for the value.
    pub async fn wait(&self) -> Result<Shared<T>, JobError> {
        let mut rx = self.0.clone();
        let Ok(status) = rx.wait_for(|s| !matches!(s, Status::Running)).await else {
            return Err(JobError::Failed("the job's task ended".to_string()));
        };
        match &*status {
            Status::Done(v) => Ok(Arc::clone(v)),
            Status::Failed(message) => Err(JobError::Failed(message.clone())),
            _ => Err(JobError::Skipped),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn jobs_share_skip_and_survive_cancelled_waiters() {
        let job = Job::start(|| 6 * 7);
        assert_eq!(job.wait().await.map(|v| **v), Ok(42));
        assert_eq!(job.clone().ready().map(|v| **v), Some(42));

        // A waiter that gives up does not stop the work.
        let gate = Arc::new(Semaphore::new(1));
        let slow = Job::gated(
            Arc::clone(&gate),
            || true,
            || {
                std::thread::sleep(std::time::Duration::from_millis(50));
                1
            },
        );
        let _ = tokio::time::timeout(std::time::Duration::from_millis(1), slow.wait()).await;
        assert_eq!(slow.wait().await.map(|v| **v), Ok(1));

        // Superseded before it could start: skipped.
        let skipped = Job::gated(gate, || false, || 2);
        assert_eq!(skipped.wait().await.err(), Some(JobError::Skipped));
        assert!(skipped.ready().is_none() && skipped.skipped());

        // A panic is a failure with its message, not a crash.
        let failed = Job::start(|| -> u8 { panic!("boom") });
        assert_eq!(
            failed.wait().await.err(),
            Some(JobError::Failed("boom".to_string()))
        );
    }
}
