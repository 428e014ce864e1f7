//! SIGINT/SIGTERM for the whole process, so that a signal always ends it.
//!
//! Once a tokio signal handler is installed it stays installed for the
//! life of the process: before this hub, the handler lived in the API
//! thread's runtime, so a SIGTERM that came after the API stopped (while
//! the store flushed, or hung, at exit) was caught and then ignored
//! (issue 14, bug 1: `timeout` could not end a crawl). Now one `signals`
//! thread owns the handlers for the process's life and dispatches each
//! signal to whoever is registered:
//! - a running crawl (its API server registers a handler): the first
//!   signal drains, the second stops now;
//! - anything else waiting for Ctrl-C (`trawl demo --serve`);
//! - nobody (the crawl has ended and the process is finishing): the
//!   process gets [`EXIT_GRACE`] to exit by itself, and a second signal
//!   exits at once, with 128 + the signal number as shells report it.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// How long a process with nothing registered may keep running after a
/// signal (normally it is flushing the store and exits well before).
pub const EXIT_GRACE: Duration = Duration::from_secs(10);

/// Which signal arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT (Ctrl-C).
    Interrupt,
    /// SIGTERM.
    Terminate,
}

impl Signal {
    /// The exit code a shell reports for a process killed by it.
    pub fn exit_code(self) -> i32 {
        match self {
            Self::Interrupt => 130,
            Self::Terminate => 143,
        }
    }
}

/// A handler's view of one signal: which, and how many so far (1 = the
/// first since the handler registered).
#[derive(Clone, Copy, Debug)]
pub struct Received {
    /// The signal.
    pub signal: Signal,
    /// Signals since the handler registered, this one included.
    pub count: u32,
}

type Handler = Arc<dyn Fn(Received) + Send + Sync>;

#[derive(Default)]
struct State {
    handler: Option<(u64, Handler)>,
    next_id: u64,
    count: u32,
    notice: Option<Handler>,
}

fn state() -> &'static Mutex<State> {
    static STATE: OnceLock<Mutex<State>> = OnceLock::new();
    STATE.get_or_init(Mutex::default)
}

/// Installs the process's signal handlers (once) and starts the thread
/// that dispatches them. The handlers are in place when this returns.
fn install() -> Result<(), String> {
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    INSTALLED
        .get_or_init(|| {
            use tokio::signal::unix::{SignalKind, signal};
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            let (mut int, mut term) = {
                let _in_runtime = rt.enter();
                (
                    signal(SignalKind::interrupt()).map_err(|e| e.to_string())?,
                    signal(SignalKind::terminate()).map_err(|e| e.to_string())?,
                )
            };
            // Owned by the process: it lives as long as the handlers do,
            // which is until the process exits.
            std::thread::Builder::new()
                .name("signals".into())
                .spawn(move || {
                    rt.block_on(async move {
                        loop {
                            let signal = tokio::select! {
                                _ = int.recv() => Signal::Interrupt,
                                _ = term.recv() => Signal::Terminate,
                            };
                            dispatch(signal);
                        }
                    });
                })
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
        .clone()
}

fn dispatch(signal: Signal) {
    let (handler, notice, received) = {
        let Ok(mut s) = state().lock() else { return };
        s.count += 1;
        let received = Received { signal, count: s.count };
        (s.handler.as_ref().map(|(_, h)| h.clone()), s.notice.clone(), received)
    };
    tracing::info!(signal = ?signal, count = received.count, "signal received");
    if let Some(notice) = notice {
        notice(received);
    }
    match handler {
        Some(h) => h(received),
        None if received.count > 1 => exit(signal),
        None => {
            // Nothing is listening: the process is finishing (or stuck
            // finishing). Let it finish, but never forever.
            let _ = std::thread::Builder::new().name("signal-grace".into()).spawn(move || {
                std::thread::sleep(EXIT_GRACE);
                tracing::warn!(signal = ?signal, "still running {EXIT_GRACE:?} after a signal: exiting");
                exit(signal);
            });
        }
    }
}

/// The one place a signal ends the process. `main` decides every other
/// exit code; this is the last resort when nothing else is listening.
#[allow(clippy::disallowed_methods)]
fn exit(signal: Signal) -> ! {
    std::process::exit(signal.exit_code())
}

/// A registered handler; dropping it unregisters (and resets the count).
#[must_use = "dropping the registration unregisters the handler"]
pub struct Registration {
    id: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Ok(mut s) = state().lock()
            && s.handler.as_ref().is_some_and(|(id, _)| *id == self.id)
        {
            s.handler = None;
            s.count = 0;
        }
    }
}

/// Sends every SIGINT/SIGTERM to `handler` until the registration is
/// dropped (replacing any earlier handler). Fails only if the handlers
/// could not be installed.
pub fn register(
    handler: impl Fn(Received) + Send + Sync + 'static,
) -> Result<Registration, String> {
    install()?;
    let mut s = state().lock().map_err(|e| e.to_string())?;
    s.next_id += 1;
    let id = s.next_id;
    s.handler = Some((id, Arc::new(handler)));
    s.count = 0;
    Ok(Registration { id })
}

/// Also calls `notice` on every signal, before the handler (the CLI
/// prints "finishing N requests; Ctrl-C again to stop now" from it).
pub fn set_notice(notice: impl Fn(Received) + Send + Sync + 'static) {
    if let Ok(mut s) = state().lock() {
        s.notice = Some(Arc::new(notice));
    }
}

/// Blocks until SIGINT or SIGTERM (for commands that serve until
/// Ctrl-C). Returns the signal.
pub fn wait() -> Result<Signal, String> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Signal>(4);
    let _registration = register(move |r| {
        let _ = tx.try_send(r.signal);
    })?;
    rx.recv().map_err(|e| e.to_string())
}
