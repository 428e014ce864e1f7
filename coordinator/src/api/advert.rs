//! The API advertisement: `<store>/trawl-api.json`, written by a running
//! crawl so that `trawl status`, `scale`, `query` and `export` find its
//! API. One typed struct for the writer and every reader.
//!
//! A crawl that was SIGKILLed leaves its advert behind; readers check that
//! the advertised pid is still alive ([`ApiAdvert::is_alive`]) before
//! calling an address nobody listens on.

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Name of the file in the store directory.
pub const API_FILE: &str = "trawl-api.json";

/// Where a running crawl's API listens, and which process serves it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiAdvert {
    /// The API's address (`http://{addr}/`).
    pub addr: SocketAddr,
    /// The coordinator's process id.
    pub pid: u32,
}

/// Reading an advert failed (other than its absence).
#[derive(Debug, thiserror::Error)]
pub enum AdvertError {
    /// The file exists but could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The advert file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not an advert.
    #[error("{path} is not a trawl API advert: {source}")]
    Parse {
        /// The advert file.
        path: PathBuf,
        /// The cause.
        source: serde_json::Error,
    },
}

impl ApiAdvert {
    /// The advert of this process's API at `addr`.
    pub fn this_process(addr: SocketAddr) -> Self {
        Self { addr, pid: std::process::id() }
    }

    /// The advert file of `store`.
    pub fn path(store: &Path) -> PathBuf {
        store.join(API_FILE)
    }

    /// Writes the advert into `store`.
    pub fn write(&self, store: &Path) -> std::io::Result<()> {
        let text = serde_json::to_string(self).map_err(std::io::Error::other)?;
        std::fs::write(Self::path(store), text)
    }

    /// Removes `store`'s advert, if any.
    pub fn remove(store: &Path) {
        let _ = std::fs::remove_file(Self::path(store));
    }

    /// The advert in `store`; `None` if there is none.
    pub fn read(store: &Path) -> Result<Option<Self>, AdvertError> {
        let path = Self::path(store);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(AdvertError::Read { path, source }),
        };
        serde_json::from_str(&text).map(Some).map_err(|source| AdvertError::Parse { path, source })
    }

    /// Whether the advertising process still runs (it is in /proc and is
    /// not a zombie). A SIGKILLed crawl's advert fails this.
    pub fn is_alive(&self) -> bool {
        match std::fs::read_to_string(format!("/proc/{}/stat", self.pid)) {
            // The state follows the parenthesised command name.
            Ok(stat) => stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next())
                .is_some_and(|state| state != "Z" && state != "X"),
            Err(_) => false,
        }
    }

    /// The API's base URL, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_keeps_the_file_format() {
        let dir = tempfile::tempdir().unwrap();
        assert!(ApiAdvert::read(dir.path()).unwrap().is_none());
        let a = ApiAdvert::this_process("127.0.0.1:4321".parse().unwrap());
        a.write(dir.path()).unwrap();
        assert_eq!(ApiAdvert::read(dir.path()).unwrap(), Some(a));
        let raw: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join(API_FILE)).unwrap())
                .unwrap();
        assert_eq!(raw["addr"], "127.0.0.1:4321");
        assert_eq!(raw["pid"], std::process::id());
        assert!(a.is_alive());
        ApiAdvert::remove(dir.path());
        assert!(ApiAdvert::read(dir.path()).unwrap().is_none());
    }

    #[test]
    fn a_dead_pid_is_not_alive_and_garbage_is_an_error() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        let a = ApiAdvert { addr: "127.0.0.1:1".parse().unwrap(), pid };
        assert!(!a.is_alive());
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(API_FILE), "{").unwrap();
        let err = ApiAdvert::read(dir.path()).unwrap_err().to_string();
        assert!(err.contains(API_FILE), "{err}");
    }
}
