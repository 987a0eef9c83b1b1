//! CPU affinity of the calling thread (benchmarks and tests that must run where a per-CPU
//! buffer is filled).

use crate::{Error, Result};

/// Restricts the calling thread to CPU `cpu` (`sched_setaffinity(0, ...)`).
pub fn pin_to_cpu(cpu: usize) -> Result<()> {
    if cpu >= libc::CPU_SETSIZE as usize {
        return Err(Error::Invalid(format!(
            "cpu {cpu} is past CPU_SETSIZE ({})",
            libc::CPU_SETSIZE
        )));
    }
    // SAFETY: cpu_set_t is plain data; all-zero is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `cpu` < CPU_SETSIZE was checked, so CPU_SET stays inside `set`.
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: `set` is a valid cpu_set_t and the size passed is its size.
    let r = unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) };
    if r < 0 {
        return Err(Error::last("sched_setaffinity"));
    }
    Ok(())
}

/// The CPU the calling thread runs on now (`sched_getcpu`).
pub fn current_cpu() -> Result<usize> {
    // SAFETY: no arguments.
    let r = unsafe { libc::sched_getcpu() };
    if r < 0 {
        return Err(Error::last("sched_getcpu"));
    }
    Ok(r as usize)
}

/// How many CPUs the calling thread may run on (`sched_getaffinity(0, ...)`).
pub fn allowed_cpus() -> Result<usize> {
    // SAFETY: cpu_set_t is plain data; all-zero is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid, writable cpu_set_t and the size passed is its size.
    let r = unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) };
    if r < 0 {
        return Err(Error::last("sched_getaffinity"));
    }
    // SAFETY: `set` was filled by the kernel above.
    Ok(unsafe { libc::CPU_COUNT(&set) } as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinning_moves_the_thread_to_that_cpu() {
        std::thread::spawn(|| {
            pin_to_cpu(0).unwrap();
            assert_eq!(current_cpu().unwrap(), 0);
        })
        .join()
        .unwrap();
        assert!(pin_to_cpu(1 << 20).is_err());
    }

    #[test]
    fn allowed_cpus_counts_the_affinity_mask() {
        let all = allowed_cpus().unwrap();
        // std counts the same mask (and lowers it further only for a cgroup CPU quota).
        let std_count = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert!(
            all >= 1 && std_count <= all,
            "{all} allowed, std says {std_count}"
        );
        std::thread::spawn(|| {
            pin_to_cpu(0).unwrap();
            assert_eq!(allowed_cpus().unwrap(), 1);
        })
        .join()
        .unwrap();
    }
}
