//! A network namespace made by a test (root only), joined to this one by
//! a veth pair with addresses the test chose in 10.213.0.0/16: the only
//! non-loopback addresses a test may use are those of namespaces it made.
//! A process runs in it with [`NetNs::exec`] (`ip netns exec`, which
//! execs the program: the pid is the program's). [`NetNs::set_link`]
//! takes the pair down (a network cut: packets are lost, connections
//! hang, nothing is refused) and up again.
//!
//! Loopback sites stay reachable from the namespace at the same URLs
//! ([`NetNs::forward_loopback`]): a thread inside the namespace listens
//! on its `127.0.0.1:PORT` and hands each connection to a thread outside,
//! which connects to this namespace's `127.0.0.1:PORT` and copies bytes
//! both ways. The site's traffic does not cross the veth pair, so a
//! link-down cuts the database only, and the forwarder records when each
//! request from the namespace arrived (what "no request from the cut
//! machine after its lease ended" is checked against).
//!
//! The namespace and the veth pair are deleted on drop, also when the
//! test panics.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, Shutdown, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A network namespace with a veth pair to this one.
pub(crate) struct NetNs {
    pub(crate) name: String,
    host_if: String,
    /// This side's address of the pair.
    pub(crate) host_addr: Ipv4Addr,
    /// The namespace side's address.
    pub(crate) ns_addr: Ipv4Addr,
}

/// Runs `ip ARGS`; the error names the command and what it printed.
fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("ip {}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("ip {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()))
    }
}

impl NetNs {
    /// Makes namespace `trawl-<tag>-<pid>` with a veth pair
    /// 10.213.N.1 (here) / 10.213.N.2 (there), its loopback up. `Err`
    /// says why namespaces cannot be made here (not root, no `ip`): the
    /// caller skips, saying so.
    pub(crate) fn create(tag: &str) -> Result<Self, String> {
        let pid = std::process::id();
        let n = u8::try_from(pid % 200 + 20).unwrap_or(20);
        let name = format!("trawl-{tag}-{pid}");
        let host_if = format!("tf{}h", pid % 1_000_000);
        let ns_if = format!("tf{}n", pid % 1_000_000);
        let ns = Self {
            name,
            host_if: host_if.clone(),
            host_addr: Ipv4Addr::new(10, 213, n, 1),
            ns_addr: Ipv4Addr::new(10, 213, n, 2),
        };
        // Made before anything can fail, so Drop cleans a half-made one.
        ip(&["netns", "add", &ns.name])?;
        let host = format!("{}/24", ns.host_addr);
        let there = format!("{}/24", ns.ns_addr);
        let steps: [&[&str]; 7] = [
            &["link", "add", &host_if, "type", "veth", "peer", "name", &ns_if],
            &["link", "set", &ns_if, "netns", &ns.name],
            &["addr", "add", &host, "dev", &host_if],
            &["link", "set", &host_if, "up"],
            &["-n", &ns.name, "addr", "add", &there, "dev", &ns_if],
            &["-n", &ns.name, "link", "set", &ns_if, "up"],
            &["-n", &ns.name, "link", "set", "lo", "up"],
        ];
        for step in steps {
            ip(step)?;
        }
        Ok(ns)
    }

    /// A command running `program` inside the namespace.
    pub(crate) fn exec(&self, program: &str) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.name, program]);
        cmd
    }

    /// Takes this side of the pair down (`up` false: the namespace is cut
    /// off) or up again.
    pub(crate) fn set_link(&self, up: bool) {
        ip(&["link", "set", &self.host_if, if up { "up" } else { "down" }])
            .unwrap_or_else(|e| panic!("{e}"));
    }

    /// Makes `127.0.0.1:PORT` for each of `ports` inside the namespace
    /// reach `127.0.0.1:PORT` here (see the module doc).
    pub(crate) fn forward_loopback(&self, ports: &[u16]) -> Forwarder {
        let fwd = Forwarder {
            stop: Arc::new(AtomicBool::new(false)),
            requests: Arc::new(Mutex::new(Vec::new())),
        };
        // The dialer is made here, so it (and the threads it makes) stays
        // in this namespace.
        let (dial, calls) = mpsc::channel::<(TcpStream, u16)>();
        let requests = fwd.requests.clone();
        std::thread::spawn(move || {
            for (client, port) in calls {
                let Ok(upstream) = TcpStream::connect(("127.0.0.1", port)) else { continue };
                pump(client, upstream, port, requests.clone());
            }
        });
        let (ready_tx, ready) = mpsc::channel::<Result<(), String>>();
        let path = format!("/var/run/netns/{}", self.name);
        let ports = ports.to_vec();
        let stop = fwd.stop.clone();
        std::thread::spawn(move || {
            let listeners = match enter(&path).and_then(|()| {
                ports
                    .iter()
                    .map(|&p| {
                        let l = TcpListener::bind(("127.0.0.1", p))
                            .map_err(|e| format!("bind 127.0.0.1:{p} in the namespace: {e}"))?;
                        l.set_nonblocking(true).map_err(|e| e.to_string())?;
                        Ok((l, p))
                    })
                    .collect::<Result<Vec<_>, String>>()
            }) {
                Ok(l) => {
                    let _ = ready_tx.send(Ok(()));
                    l
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            while !stop.load(Ordering::Acquire) {
                let mut idle = true;
                for (l, port) in &listeners {
                    if let Ok((s, _)) = l.accept() {
                        idle = false;
                        let _ = s.set_nonblocking(false);
                        if dial.send((s, *port)).is_err() {
                            return;
                        }
                    }
                }
                if idle {
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        });
        ready
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|e| Err(e.to_string()))
            .unwrap_or_else(|e| panic!("forwarding into {}: {e}", self.name));
        fwd
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        // Deleting the namespace deletes its end of the pair, and so the
        // pair; the explicit delete covers a pair whose end never moved.
        let _ = ip(&["netns", "del", &self.name]);
        let _ = ip(&["link", "del", &self.host_if]);
    }
}

/// Moves the calling thread into the network namespace at `path`.
fn enter(path: &str) -> Result<(), String> {
    use std::os::fd::AsRawFd;
    let f = std::fs::File::open(path).map_err(|e| format!("{path}: {e}"))?;
    // SAFETY: setns on a valid namespace fd only changes this thread's
    // network namespace; the fd outlives the call.
    #[allow(unsafe_code)]
    let rc = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
    if rc == 0 { Ok(()) } else { Err(format!("setns {path}: {}", std::io::Error::last_os_error())) }
}

/// When each request chunk from the namespace arrived, and its port.
type RequestLog = Arc<Mutex<Vec<(Instant, u16)>>>;

/// Copies both ways between `client` (in the namespace) and `upstream`,
/// recording when each chunk from the client arrived.
fn pump(client: TcpStream, upstream: TcpStream, port: u16, log: RequestLog) {
    let (Ok(c2), Ok(u2)) = (client.try_clone(), upstream.try_clone()) else { return };
    std::thread::spawn(move || copy(client, upstream, Some((port, log))));
    std::thread::spawn(move || copy(u2, c2, None));
}

fn copy(mut from: TcpStream, mut to: TcpStream, log: Option<(u16, RequestLog)>) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if let Some((port, log)) = &log {
                    log.lock().unwrap().push((Instant::now(), *port));
                }
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

/// Loopback ports forwarded into a namespace; stops accepting on drop.
pub(crate) struct Forwarder {
    stop: Arc<AtomicBool>,
    requests: RequestLog,
}

impl Forwarder {
    /// When each request chunk from the namespace arrived, and its port.
    pub(crate) fn requests(&self) -> Vec<(Instant, u16)> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
    }
}
