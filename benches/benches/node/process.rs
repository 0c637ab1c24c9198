//! The bench process's own resident memory and CPU time, by thread.

use super::*;

pub(crate) fn rss_mib() -> f64 {
    rss_mib_of("self")
}

/// CPU seconds (user + system) of a `/proc/.../stat` file; zero when it cannot be read.
pub(crate) fn stat_cpu_seconds(path: &str) -> f64 {
    stat_ticks(path, 11)
}

/// CPU seconds (user + system) of this process's children that have ended and been waited for.
pub(crate) fn children_cpu_seconds() -> f64 {
    stat_ticks("/proc/self/stat", 13)
}

/// The sum of the two clock-tick fields from `first` of a `/proc/.../stat` file, in seconds.
fn stat_ticks(path: &str, first: usize) -> f64 {
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    // Fields after the command name (which ends with the last ')'): utime and stime are the
    // 12th and 13th of them, cutime and cstime the 14th and 15th, in clock ticks of 1/100 s on
    // Linux.
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(first) + ticks(first + 1)) / 100.0
}

/// CPU seconds this process has used, in total and by thread name.
pub(crate) fn cpu_by_thread() -> (f64, std::collections::BTreeMap<String, f64>) {
    let mut threads = std::collections::BTreeMap::new();
    for task in std::fs::read_dir("/proc/self/task").into_iter().flatten().flatten() {
        let dir = task.path();
        let name = std::fs::read_to_string(dir.join("comm")).unwrap_or_default().trim().to_string();
        *threads.entry(name).or_insert(0.0) += stat_cpu_seconds(&dir.join("stat").to_string_lossy());
    }
    (stat_cpu_seconds("/proc/self/stat"), threads)
}

/// Cores used between two [`cpu_by_thread`] readings over `elapsed`: the total and the
/// busiest thread names.
pub(crate) fn cores_used(
    before: &(f64, std::collections::BTreeMap<String, f64>),
    after: &(f64, std::collections::BTreeMap<String, f64>),
    elapsed: Duration,
) -> String {
    let secs = elapsed.as_secs_f64();
    let mut by_name: Vec<(String, f64)> = after
        .1
        .iter()
        .map(|(name, cpu)| (name.clone(), (cpu - before.1.get(name).copied().unwrap_or(0.0)) / secs))
        .filter(|(_, cores)| *cores >= 0.01)
        .collect();
    by_name.sort_by(|a, b| b.1.total_cmp(&a.1));
    let parts: Vec<String> = by_name.iter().map(|(name, cores)| format!("{name} {cores:.2}")).collect();
    format!("{:.2} cores ({})", (after.0 - before.0) / secs, parts.join(", "))
}

/// VmRSS of `/proc/<pid>/status`, in MiB.
pub(crate) fn rss_mib_of(pid: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

/// Samples the process's RSS every 50 ms, keeping the peak.
pub(crate) struct PeakRss {
    peak_kib: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl PeakRss {
    pub(crate) fn start() -> Self {
        let peak_kib = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s) = (peak_kib.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                p.fetch_max((rss_mib() * 1024.0) as u64, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        PeakRss { peak_kib, stop }
    }

    pub(crate) fn peak_mib(&self) -> f64 {
        self.peak_kib.load(Ordering::Relaxed) as f64 / 1024.0
    }
}

impl Drop for PeakRss {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
