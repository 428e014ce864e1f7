//! Writing to the terminal without ever failing a crawl: stdout or stderr
//! may be a pipe closed early (`trawl crawl ... | head`). `println!` and
//! `eprintln!` panic then; these helpers drop the text instead.

use std::io::Write as _;

/// `trawl: error: MSG` on stderr.
pub(crate) fn error(msg: &str) {
    line_err(&format!("trawl: error: {msg}"));
}

/// One line on stderr, dropped if stderr is closed.
pub(crate) fn line_err(msg: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{msg}");
}

/// One line on stdout, dropped if stdout is closed.
pub(crate) fn line(msg: &str) {
    let _ = writeln!(std::io::stdout().lock(), "{msg}");
}

/// `1 page`, `2 pages`, `0 pages`.
pub(crate) fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plurals() {
        assert_eq!(plural(0, "page", "pages"), "0 pages");
        assert_eq!(plural(1, "page", "pages"), "1 page");
        assert_eq!(plural(2, "URL", "URLs"), "2 URLs");
    }
}
