//! The thread pool that loads a collection's programs.
//!
//! The kernel verifies a program in the thread that called `BPF_PROG_LOAD`, one program at
//! a time per thread, so independent programs verify concurrently on several threads. A
//! program that needs another one's fd (an `freplace` program whose target is a program of
//! the same object) is started only after that one finished. Tasks are started in a fixed
//! order (dependencies first, otherwise by index), each worker taking the next one from a
//! shared atomic index; results come back by task index, whatever thread ran them.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

/// The order to start tasks in: every task after all the tasks it depends on (`deps[i]`:
/// the tasks task `i` needs), otherwise by index. `Err`: the tasks that cannot be ordered
/// (in a dependency cycle, depending on one, or naming a task that does not exist).
pub(crate) fn schedule(deps: &[Vec<usize>]) -> Result<Vec<usize>, Vec<usize>> {
    let n = deps.len();
    let mut waiting = vec![0usize; n];
    let mut dependents = vec![Vec::new(); n];
    let mut bad = vec![false; n];
    for (i, ds) in deps.iter().enumerate() {
        for &d in ds {
            if d < n {
                waiting[i] += 1;
                dependents[d].push(i);
            } else {
                bad[i] = true;
            }
        }
    }
    let mut ready: BinaryHeap<Reverse<usize>> = (0..n)
        .filter(|&i| waiting[i] == 0 && !bad[i])
        .map(Reverse)
        .collect();
    let mut order = Vec::with_capacity(n);
    while let Some(Reverse(i)) = ready.pop() {
        order.push(i);
        for &j in &dependents[i] {
            waiting[j] -= 1;
            if waiting[j] == 0 && !bad[j] {
                ready.push(Reverse(j));
            }
        }
    }
    if order.len() == n {
        return Ok(order);
    }
    let mut placed = vec![false; n];
    for &i in &order {
        placed[i] = true;
    }
    Err((0..n).filter(|&i| !placed[i]).collect())
}

/// How many threads `jobs` asks for, for `tasks` tasks: 0 means one per usable CPU;
/// never more threads than tasks, at least one.
pub(crate) fn workers(jobs: usize, tasks: usize) -> usize {
    let jobs = if jobs == 0 { usable_cpus() } else { jobs };
    jobs.min(tasks).max(1)
}

/// The CPUs this process may run on (its affinity mask), read once per process: what
/// `jobs: 0` means. One `sched_getaffinity`, where `std::thread::available_parallelism`
/// also reads the cgroup's CPU quota through /proc and /sys (~0.2 ms in a fresh process,
/// paid twice per load before); a quota throttles the total, not how many run at once.
pub(crate) fn usable_cpus() -> usize {
    static CPUS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CPUS.get_or_init(|| match oxbpf_sys::sched::allowed_cpus() {
        Ok(n) => n.max(1),
        Err(_) => std::thread::available_parallelism().map_or(1, |n| n.get()),
    })
}

/// Completion signalling between the workers.
struct Sync {
    lock: Mutex<()>,
    done: Condvar,
    /// A task panicked: waiters give up so that the panic reaches the caller.
    aborted: AtomicBool,
}

impl Sync {
    /// Waits until `slot` holds a result; `None` if a task panicked meanwhile.
    fn wait<'a, T>(&self, slot: &'a OnceLock<T>) -> Option<&'a T> {
        let mut guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(v) = slot.get() {
                return Some(v);
            }
            if self.aborted.load(Ordering::Acquire) {
                return None;
            }
            guard = self
                .done
                .wait(guard)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Wakes every waiter (a result was stored, or a task panicked).
    fn notify(&self) {
        let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        self.done.notify_all();
    }
}

/// With `jobs == 0`, how long the caller's thread runs tasks alone before it starts the
/// other workers. Most objects load in well under this (core10's 10 programs: ~0.5 ms of
/// `BPF_PROG_LOAD`s), and for them a pool only costs: spawning and joining a thread
/// (tens of µs on an idle host, milliseconds when the CPUs are busy and the new thread
/// waits to be scheduled) against ~50 µs per program. Measured with `oxbpf-bench
/// core_object_load --breakdown` on the 2-CPU host: median `Collection::load` 2.4 ms
/// sequential against 2.9–9 ms with a pool from the start. Objects whose verification
/// takes long (fixtures/many_progs.bpf.o: ~4 ms per program, 64 programs) pass this after
/// their first program and then lose at most this much of the overlap. The instruction
/// count is no proxy for it: many_progs has only 4× core10's instructions but 500× its
/// verification time (bounded loops).
const SPAWN_AFTER: Duration = Duration::from_millis(2);

/// Runs `task(i, deps_results)` for every task `i` on [`workers`]`(jobs, n)` threads (the
/// caller's thread is one of them; with one, everything runs on it in [`schedule`] order).
/// With `jobs == 0` the other threads start only once the tasks have run for
/// [`SPAWN_AFTER`] and some are left, so short work stays on the caller's thread.
/// `deps_results` are the results of `deps[i]`, in that order. Returns the results by task
/// index, or the tasks [`schedule`] cannot order (then nothing ran). A panic in a task is
/// resumed in the caller after the other workers stopped.
pub(crate) fn run<T, F>(jobs: usize, deps: &[Vec<usize>], task: F) -> Result<Vec<T>, Vec<usize>>
where
    T: Send + std::marker::Sync,
    F: Fn(usize, &[&T]) -> T + std::marker::Sync,
{
    let order = schedule(deps)?;
    let slots: Vec<OnceLock<T>> = deps.iter().map(|_| OnceLock::new()).collect();
    let sync = Sync {
        lock: Mutex::new(()),
        done: Condvar::new(),
        aborted: AtomicBool::new(false),
    };
    let next = AtomicUsize::new(0);
    // Takes the next task and runs it; false when none is left (or a task panicked).
    let step = || {
        let Some(&i) = order.get(next.fetch_add(1, Ordering::Relaxed)) else {
            return false;
        };
        // Tasks before `i` in `order` were all taken already, so every dependency is
        // running or done: waiting cannot deadlock.
        let mut inputs = Vec::with_capacity(deps[i].len());
        for &d in &deps[i] {
            match sync.wait(&slots[d]) {
                Some(r) => inputs.push(r),
                None => return false,
            }
        }
        match catch_unwind(AssertUnwindSafe(|| task(i, &inputs))) {
            Ok(r) => {
                // Each index is taken once, so the slot is empty.
                let _ = slots[i].set(r);
                sync.notify();
                true
            }
            Err(panic) => {
                sync.aborted.store(true, Ordering::Release);
                sync.notify();
                resume_unwind(panic);
            }
        }
    };
    let worker = || while step() {};
    let threads = workers(jobs, deps.len());
    if threads == 1 {
        worker();
    } else if jobs == 0 {
        let started = Instant::now();
        std::thread::scope(|s| {
            let mut spawned = false;
            loop {
                if !spawned
                    && next.load(Ordering::Relaxed) + 1 < order.len()
                    && started.elapsed() >= SPAWN_AFTER
                {
                    for _ in 1..threads {
                        s.spawn(worker);
                    }
                    spawned = true;
                }
                if !step() {
                    break;
                }
            }
        });
    } else {
        std::thread::scope(|s| {
            for _ in 1..threads {
                s.spawn(worker);
            }
            worker();
        });
    }
    // Every task ran (a panic would have been resumed above).
    Ok(slots.into_iter().filter_map(OnceLock::into_inner).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn respects(order: &[usize], deps: &[Vec<usize>]) -> bool {
        let pos = |x: usize| order.iter().position(|&o| o == x);
        deps.iter()
            .enumerate()
            .all(|(i, ds)| ds.iter().all(|&d| pos(d) < pos(i)))
    }

    #[test]
    fn independent_tasks_keep_index_order() {
        let deps = vec![Vec::new(); 5];
        assert_eq!(schedule(&deps).unwrap(), vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn dependency_comes_before_its_dependent() {
        // Program 0 replaces a function of program 3, program 1 one of program 0.
        let deps = vec![vec![3], vec![0], vec![], vec![], vec![1, 2]];
        let order = schedule(&deps).unwrap();
        assert_eq!(order, vec![2, 3, 0, 1, 4]);
        assert!(respects(&order, &deps));
    }

    #[test]
    fn cycle_is_refused_naming_its_tasks() {
        let deps = vec![vec![], vec![2], vec![1], vec![2], vec![]];
        assert_eq!(schedule(&deps).unwrap_err(), vec![1, 2, 3]);
    }

    #[test]
    fn missing_dependency_is_refused() {
        let deps = vec![vec![], vec![7]];
        assert_eq!(schedule(&deps).unwrap_err(), vec![1]);
    }

    #[test]
    fn workers_never_exceed_tasks() {
        assert_eq!(workers(8, 3), 3);
        assert_eq!(workers(1, 64), 1);
        assert_eq!(workers(4, 0), 1);
        assert!(workers(0, 64) >= 1);
    }

    #[test]
    fn parallel_run_finishes_dependencies_first_and_returns_by_index() {
        // A chain and a fan-in: 5 <- 9 <- 2, and 7 needs 0, 2 and 9.
        let mut deps = vec![Vec::new(); 12];
        deps[9] = vec![5];
        deps[2] = vec![9];
        deps[7] = vec![0, 2, 9];
        let finished = Mutex::new(Vec::new());
        let results = run(3, &deps, |i, inputs: &[&usize]| {
            // Dependencies are done when a task starts, and their results are passed in.
            let done = finished.lock().unwrap().clone();
            for &d in &deps[i] {
                assert!(done.contains(&d), "task {i} started before {d} finished");
            }
            assert_eq!(inputs.iter().map(|r| **r / 10).collect::<Vec<_>>(), deps[i]);
            std::thread::sleep(std::time::Duration::from_millis(2));
            finished.lock().unwrap().push(i);
            i * 10
        })
        .unwrap();
        assert_eq!(results, (0..12).map(|i| i * 10).collect::<Vec<_>>());
        let order = finished.into_inner().unwrap();
        assert_eq!(order.len(), 12);
        assert!(respects(&order, &deps), "{order:?}");
    }

    #[test]
    fn run_uses_several_threads() {
        let deps = vec![Vec::new(); 4];
        let barrier = std::sync::Barrier::new(2);
        // Two tasks meet at a barrier: this only finishes if they run at the same time.
        let ids = run(2, &deps, |i, _| {
            if i < 2 {
                barrier.wait();
            }
            std::thread::current().id()
        })
        .unwrap();
        assert_ne!(ids[0], ids[1]);
    }

    #[test]
    fn default_jobs_keeps_short_work_on_the_callers_thread() {
        let deps = vec![Vec::new(); 16];
        let ids = run(0, &deps, |_, _| std::thread::current().id()).unwrap();
        let me = std::thread::current().id();
        assert!(ids.iter().all(|&id| id == me), "{ids:?}");
    }

    #[test]
    fn default_jobs_starts_the_pool_once_work_runs_long() {
        if workers(0, 2) < 2 {
            eprintln!("skipping: one CPU available");
            return;
        }
        // Task 0 outlasts SPAWN_AFTER; then task 1 waits for task 2, which only another
        // thread can run meanwhile (on one thread, task 1 times out and returns false).
        let deps = vec![Vec::new(); 3];
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let rx = Mutex::new(rx);
        let tx = Mutex::new(tx);
        let ok = run(0, &deps, |i, _| match i {
            0 => {
                std::thread::sleep(SPAWN_AFTER * 2);
                true
            }
            1 => rx
                .lock()
                .unwrap()
                .recv_timeout(Duration::from_secs(10))
                .is_ok(),
            _ => tx.lock().unwrap().send(()).is_ok(),
        })
        .unwrap();
        assert_eq!(ok, [true, true, true]);
    }

    #[test]
    fn panic_in_a_task_reaches_the_caller_without_hanging_dependents() {
        let deps = vec![vec![], vec![0], vec![1]];
        let r = catch_unwind(|| run(2, &deps, |i, _| if i == 0 { panic!("boom") } else { i }));
        assert!(r.is_err());
    }
}
