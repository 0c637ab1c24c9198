//! Shared by the network tests of platform-node, validator-node, miner-cli and sudo-cli: HTTP
//! and polling helpers, and a one-validator local network on the real runtime (or `None`,
//! skipped with the reason, outside CI when the chain spec is missing).

#![allow(dead_code)]

#[path = "../../../platform-chain/tests/common/mod.rs"]
pub mod chain_common;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use platform_devnet::{Devnet, DevnetConfig};
use platform_node::Settings;
use serde_json::Value;

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).build().into()
}

/// GET `url`: the status and JSON body; status 0 when nothing answers (a node not up yet).
pub fn get(url: &str) -> (u16, Value) {
    match agent().get(url).call() {
        Ok(mut r) => (r.status().as_u16(), r.body_mut().read_json().unwrap_or(Value::Null)),
        Err(_) => (0, Value::Null),
    }
}

/// POST `body` as JSON to `url`: the status and JSON body.
pub fn post(url: &str, body: Value) -> (u16, Value) {
    let mut r = agent().post(url).send_json(body).expect("HTTP POST");
    (r.status().as_u16(), r.body_mut().read_json().unwrap_or(Value::Null))
}

/// Polls `probe` every 200 ms until it gives a value; panics naming `what` after `timeout`.
pub async fn eventually<T>(what: &str, timeout: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = tokio::task::block_in_place(&mut probe) {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub fn root() -> PathBuf {
    chain_common::workspace_root()
}

pub async fn one_validator(work: &Path) -> Option<Devnet> {
    devnet(work, 1, 0, 1).await
}

/// A local network on the real runtime: `validators` seated, the last `external` of them left
/// to the caller to run as processes, and `miners` registered. `None` (skipped, with the
/// reason printed) outside CI when the chain spec is missing.
pub async fn devnet(work: &Path, validators: usize, external: usize, miners: usize) -> Option<Devnet> {
    let spec = chain_common::spec_path()?;
    let mut config = DevnetConfig::new(spec, root().join("tests/chopsticks"), work.to_path_buf());
    config.validators = validators;
    config.external = external;
    config.miners = miners;
    Some(Devnet::start(config, &mut |step| eprintln!("{step}")).await.expect("devnet starts"))
}

/// A TCP port free on loopback right now, below the ephemeral range ([`free_port_range`]).
pub fn free_port() -> u16 {
    free_port_range(1)
}

/// The first of `count` consecutive ports free now, below Linux's ephemeral range (32768 and up),
/// for a network whose validators listen on `base + i`: a port the kernel hands to a socket bound
/// to port 0 elsewhere (another test's validators, its chain) can never be one of them. (With a
/// base the kernel chose from that range, the 11th validator of sixteen once found its port taken.)
pub fn free_port_range(count: u16) -> u16 {
    let (low, high) = (20_000u32, 32_000u32);
    let mut next = std::process::id() ^ std::time::UNIX_EPOCH.elapsed().map_or(0, |d| d.subsec_nanos());
    for _ in 0..1_000 {
        next = next.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let base = (low + next % (high - low - u32::from(count))) as u16;
        if (base..base + count).all(|p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok()) {
            return base;
        }
    }
    panic!("no {count} consecutive free ports between {low} and {high}");
}

/// Runs the `validator-node` binary at `bin` with `settings` given through its environment
/// variables (and `extra` ones), appending its output to `log`.
pub fn spawn_validator(bin: &str, settings: &Settings, log: &Path, extra: &[(&str, &str)]) -> Child {
    let mut command = Command::new(bin);
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    command
        .env("VALIDATOR_SECRET_KEY", opt(&settings.secret_key))
        .env("SUBTENSOR_ENDPOINT", opt(&settings.subtensor_endpoint))
        .env("NETUID", settings.netuid.unwrap_or(1).to_string())
        .env("P2P_LISTEN_ADDR", opt(&settings.p2p_listen_addr))
        .env("BOOTSTRAP_PEERS", settings.bootstrap_peers.clone().unwrap_or_default().join(","))
        .env("DATA_DIR", settings.data_dir.clone().expect("data dir"))
        .env("HTTP_ADDR", opt(&settings.http_addr))
        .env("SUDO_KEY", opt(&settings.sudo_key))
        .env("BLOCK_INTERVAL_MS", settings.block_interval_ms.unwrap_or(100).to_string())
        .env("VIEW_TIMEOUT_MS", settings.view_timeout_ms.unwrap_or(1500).to_string())
        .env("RUST_LOG", "info")
        .envs(extra.iter().copied())
        .stdin(Stdio::null());
    let file = std::fs::OpenOptions::new().create(true).append(true).open(log).expect("log file");
    command.stdout(file.try_clone().expect("log")).stderr(file);
    command.spawn().expect("validator-node starts")
}

/// The committed height a validator's API reports (0 when it does not answer).
pub fn height(url: &str) -> u64 {
    get(&format!("{url}/consensus/info")).1["tip"]["height"].as_u64().unwrap_or(0)
}

pub fn regression_wasm() -> PathBuf {
    root().join("challenges/dist/regression.wasm")
}

/// stdout, stderr and success of a finished command, for assertion messages.
pub fn show(output: &Output) -> String {
    format!(
        "status {}\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// What one run of `validator-node devnet` showed.
pub struct DevnetRun {
    /// From the command's start to the first weights on chain it printed.
    pub first_weights: Duration,
    /// Everything it printed on stdout and stderr, in order of arrival per stream.
    pub output: String,
    /// Whether it exited with status 0 after SIGINT.
    pub clean_exit: bool,
    /// How long it took to exit after SIGINT (`None`: it had not within 30 s and was killed).
    pub stopped_in: Option<Duration>,
}

/// Runs `validator-node devnet` (the binary at `bin`, from the workspace root, chain and
/// chopsticks as the tests use them) until it prints the weights every validator has on
/// chain, identical across validators, then stops it with SIGINT as Ctrl-C would.
pub fn run_devnet_command(bin: &str, work: &Path, args: &[&str], timeout: Duration) -> DevnetRun {
    run_devnet_command_until(bin, work, args, timeout, &|_| true, &|_| {})
}

/// [`run_devnet_command`], stopping only at identical weights once `done` holds of everything
/// printed so far, and calling `before_interrupt` with it just before the SIGINT.
pub fn run_devnet_command_until(
    bin: &str,
    work: &Path,
    args: &[&str],
    timeout: Duration,
    done: &dyn Fn(&str) -> bool,
    before_interrupt: &dyn Fn(&str),
) -> DevnetRun {
    use std::io::{BufRead, BufReader};
    let spec = chain_common::spec_path().expect("the chain spec");
    let chain_dir = spec.parent().expect("folder").to_path_buf();
    let start = Instant::now();
    // Its own process group, signalled as a whole below: what a terminal does on Ctrl-C.
    let mut child = Command::new(bin)
        .process_group(0)
        .current_dir(root())
        .args(["devnet", "--work-dir"])
        .arg(work)
        .arg("--chain-dir")
        .arg(&chain_dir)
        .args(["--http-port", &free_port_range(64).to_string()])
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("validator-node devnet starts");
    let (lines, rx) = std::sync::mpsc::channel::<String>();
    for stream in [
        Box::new(child.stdout.take().expect("stdout")) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().expect("stderr")),
    ] {
        let lines = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let _ = lines.send(line);
            }
        });
    }
    drop(lines);
    let mut output = String::new();
    let mut first_weights = None;
    while Instant::now() < start + timeout {
        let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) else {
            if child.try_wait().ok().flatten().is_some() {
                break;
            }
            continue;
        };
        output.push_str(&line);
        output.push('\n');
        if line.contains("first weights on chain") && first_weights.is_none() {
            first_weights = Some(start.elapsed());
        }
        if first_weights.is_some() && line.contains("identical across validators: yes") && done(&output) {
            break;
        }
    }
    before_interrupt(&output);
    let _ = Command::new("kill").args(["-INT", "--", &format!("-{}", child.id())]).status();
    let signalled = Instant::now();
    let deadline = signalled + Duration::from_secs(30);
    let mut status = None;
    while status.is_none() && Instant::now() < deadline {
        status = child.try_wait().ok().flatten();
        std::thread::sleep(Duration::from_millis(100));
    }
    let stopped_in = status.is_some().then(|| signalled.elapsed());
    if status.is_none() {
        let _ = child.kill();
        // Its chain runs in a process group of its own, which the devnet kills as it stops:
        // killed here instead, or it would outlive the test (its command line names `work`).
        let _ = Command::new("pkill").args(["-KILL", "-f", &work.display().to_string()]).status();
    }
    let _ = child.wait();
    while let Ok(line) = rx.recv_timeout(Duration::from_millis(500)) {
        output.push_str(&line);
        output.push('\n');
    }
    // Whether a failed clean exit was slow or an error, in what a failing assertion prints.
    output.push_str(&match status {
        Some(status) => format!(
            "[test] {:.1} s after SIGINT the devnet exited: {status}\n",
            stopped_in.unwrap_or_default().as_secs_f64()
        ),
        None => "[test] the devnet had not exited 30 s after SIGINT and was killed\n".to_string(),
    });
    let first_weights = first_weights.unwrap_or_else(|| panic!("no weights on chain within {timeout:?}:\n{output}"));
    DevnetRun { first_weights, output, clean_exit: status.is_some_and(|s| s.success()), stopped_in }
}

/// Sends `signal` (`STOP`, `CONT`, `KILL`) to the chopsticks process of the devnet that printed
/// `output` ("chain: ws://127.0.0.1:PORT"; its configuration file is named for the port).
pub fn signal_devnet_chain(output: &str, signal: &str) {
    let port = output
        .lines()
        .find_map(|l| {
            l.trim_start().strip_prefix("chain:")?.trim().strip_prefix("ws://127.0.0.1:")?.split_whitespace().next()
        })
        .expect("the devnet printed its chain's address");
    let status = Command::new("pkill")
        .args([&format!("-{signal}"), "-f", &format!("chopsticks-{port}.yml")])
        .status()
        .expect("pkill runs");
    assert!(status.success(), "no chopsticks process for port {port}");
}
