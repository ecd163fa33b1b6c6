//! SMPP peers written with other people's SMPP software, for interop tests: an SMSC (a
//! carrier, npm `smpp`) that Textbird's SMPP client connects to, and ESMEs (customers, npm
//! `smpp` and the Python package `smpplib`) that connect to Textbird's SMPP server. Each peer is a child
//! process in `crates/textbird/tests/peers` that prints one JSON object per line for every
//! event and takes JSON command lines on stdin; `scripts/test` installs their packages.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::Value;

const INSTALL_HINT: &str = "run scripts/test (it installs the SMPP test peers)";
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A running SMPP peer, killed when dropped.
pub struct Peer {
    name: String,
    child: Child,
    stdin: Mutex<Option<ChildStdin>>,
    /// Lines the reader thread parsed, and those already taken from it.
    events: Mutex<(Receiver<Value>, Vec<Value>)>,
    stderr: tempfile::NamedTempFile,
    /// The port an SMSC listens on (0 for an ESME).
    pub port: u16,
}

/// The folder holding the peers' scripts and their installed packages.
pub fn peers_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../textbird/tests/peers")
}

fn node_peer(script: &str) -> Vec<String> {
    let dir = peers_dir();
    assert!(dir.join("node_modules/smpp/lib/smpp.js").is_file(), "npm package smpp is missing: {INSTALL_HINT}");
    vec!["node".into(), dir.join(script).display().to_string()]
}

impl Peer {
    /// `smsc.js` (npm `smpp` server) on an ephemeral port with `args` (`--throttle 3`, ...);
    /// returns once it listens.
    pub fn smsc(args: &[&str]) -> Peer {
        let mut cmd = node_peer("smsc.js");
        cmd.extend(["--port".into(), "0".into()]);
        let mut peer = Peer::spawn("smsc.js", &cmd, args);
        let listening = peer.next_blocking(START_TIMEOUT, |e| e["event"] == "listening");
        peer.port = u16::try_from(listening["port"].as_u64().expect("port")).expect("a TCP port");
        peer
    }

    /// `esme.js` (npm `smpp` client) connected to `addr` (`host:port`) with `args`
    /// (`--system-id`, `--password`, `--bind`, `--no-bind`, ...). It binds by itself unless
    /// `--no-bind` is given; commands sent before the bind answered wait for it.
    pub fn esme_js(addr: &str, args: &[&str]) -> Peer {
        let (host, port) = split_addr(addr);
        let mut cmd = node_peer("esme.js");
        cmd.extend(["--host".into(), host, "--port".into(), port]);
        Peer::spawn("esme.js", &cmd, args)
    }

    /// `esme.py` (Python `smpplib` client) connected to `addr`, bound as a transceiver with
    /// `--system-id` / `--password` from `args`.
    pub fn esme_py(addr: &str, args: &[&str]) -> Peer {
        let dir = peers_dir();
        let python = dir.join(".venv/bin/python");
        assert!(python.is_file(), "Python venv with smpplib is missing: {INSTALL_HINT}");
        let (host, port) = split_addr(addr);
        let cmd = vec![
            python.display().to_string(),
            dir.join("esme.py").display().to_string(),
            "--host".into(),
            host,
            "--port".into(),
            port,
        ];
        Peer::spawn("esme.py", &cmd, args)
    }

    fn spawn(name: &str, cmd: &[String], args: &[&str]) -> Peer {
        let stderr = tempfile::NamedTempFile::new().expect("temp file");
        let mut child = Command::new(&cmd[0])
            .args(&cmd[1..])
            .args(args)
            .current_dir(peers_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr.reopen().expect("reopen temp file"))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} ({}): {e}; {INSTALL_HINT}", cmd[0]));
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let event = serde_json::from_str(&line)
                    .unwrap_or_else(|_| serde_json::json!({"event": "stdout", "line": line}));
                if tx.send(event).is_err() {
                    break;
                }
            }
        });
        Peer {
            name: name.to_owned(),
            stdin: Mutex::new(child.stdin.take()),
            child,
            events: Mutex::new((rx, Vec::new())),
            stderr,
            port: 0,
        }
    }

    /// Writes one JSON command line to the peer's stdin.
    pub fn send(&self, command: &Value) {
        let mut stdin = self.stdin.lock().expect("stdin lock");
        let pipe = stdin.as_mut().expect("stdin open");
        let written = writeln!(pipe, "{command}").and_then(|()| pipe.flush());
        if let Err(e) = written {
            panic!("{} no longer reads commands ({e}); {}", self.name, self.describe());
        }
    }

    /// Every event so far, oldest first.
    pub fn events(&self) -> Vec<Value> {
        let mut guard = self.events.lock().expect("events lock");
        let (rx, seen) = &mut *guard;
        seen.extend(rx.try_iter());
        seen.clone()
    }

    /// Events so far whose `event` is `name`.
    pub fn events_named(&self, name: &str) -> Vec<Value> {
        self.events().into_iter().filter(|e| e["event"] == name).collect()
    }

    /// The first event, past or future, that `predicate` accepts; panics after `secs`.
    pub async fn wait_for(&self, secs: u64, predicate: impl Fn(&Value) -> bool) -> Value {
        self.wait_described(secs, "a matching event", predicate).await
    }

    /// The first event named `name`, past or future.
    pub async fn wait_event(&self, secs: u64, name: &str) -> Value {
        self.wait_described(secs, &format!("a {name:?} event"), |e| e["event"] == name).await
    }

    async fn wait_described(&self, secs: u64, what: &str, predicate: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(e) = self.events().into_iter().find(|e| predicate(e)) {
                return e;
            }
            assert!(Instant::now() < deadline, "timed out after {secs} s waiting for {what}; {}", self.describe());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until `predicate` accepts at least `n` events; returns those.
    pub async fn wait_count(&self, secs: u64, n: usize, predicate: impl Fn(&Value) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let matching: Vec<Value> = self.events().into_iter().filter(|e| predicate(e)).collect();
            if matching.len() >= n {
                return matching;
            }
            assert!(
                Instant::now() < deadline,
                "timed out after {secs} s waiting for {n} events (got {}); {}",
                matching.len(),
                self.describe()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Blocks (no runtime needed) for the first matching event.
    fn next_blocking(&self, timeout: Duration, predicate: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            {
                let mut guard = self.events.lock().expect("events lock");
                let (rx, seen) = &mut *guard;
                if let Some(e) = seen.iter().find(|e| predicate(e)) {
                    return e.clone();
                }
                match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                    Ok(e) => {
                        seen.push(e);
                        continue;
                    }
                    Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {}
                }
            }
            panic!("{} did not start in time; {}", self.name, self.describe());
        }
    }

    /// Whether the process has exited.
    pub fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// SIGTERM, then waits (at most 10 s) and checks it exited cleanly.
    pub fn terminate(&mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    assert!(status.success(), "{} exited with {status}; {}", self.name, self.describe());
                    return;
                }
                Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
                _ => panic!("{} did not stop on SIGTERM; {}", self.name, self.describe()),
            }
        }
    }

    /// The peer's name, its last events and its stderr, for failure messages.
    pub fn describe(&self) -> String {
        let events = self.events();
        let last: Vec<String> = events.iter().rev().take(15).rev().map(Value::to_string).collect();
        let stderr = std::fs::read_to_string(self.stderr.path()).unwrap_or_default();
        format!("{}: {} events, the last ones:\n{}\nstderr: {stderr}", self.name, events.len(), last.join("\n"))
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn split_addr(addr: &str) -> (String, String) {
    let (host, port) = addr.rsplit_once(':').unwrap_or_else(|| panic!("{addr:?} is not host:port"));
    assert!(!host.is_empty() && port.parse::<u16>().is_ok(), "{addr:?} is not host:port");
    (host.trim_start_matches('[').trim_end_matches(']').to_owned(), port.to_owned())
}
