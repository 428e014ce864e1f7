//! The control/query API: where it listens and the token it requires.

use crate::config::CrawlConfig;
use crate::error::ConfigError;

crate::option_group! {
    /// API.
    #[command(next_help_heading = "API")]
    pub struct ApiOptions {
        /// Address of the control/query API (port 0: any free one) [default: 127.0.0.1:0].
        #[arg(long, value_name = "IP:PORT")]
        pub api: Option<String>,
        /// Bearer token for the API (required to bind a non-loopback address) [default: none].
        #[arg(long, value_name = "TOKEN", env = "TRAWL_API_TOKEN", hide_env_values = true)]
        pub api_token: Option<String>,
    }
}

impl ApiOptions {
    pub(crate) fn resolve(self, c: &mut CrawlConfig, errs: &mut Vec<ConfigError>) {
        if let Some(addr) = self.api.as_deref() {
            match addr.parse::<std::net::SocketAddr>() {
                Ok(a) => c.api = a,
                Err(e) => {
                    errs.push(ConfigError::new("--api", format!("not an address (IP:PORT): {e}")));
                }
            }
        }
        if !c.api.ip().is_loopback() && self.api_token.as_deref().is_none_or(str::is_empty) {
            errs.push(ConfigError::new(
                "--api",
                format!("binding {} (not loopback) requires --api-token", c.api),
            ));
        }
        c.api_token = self.api_token;
    }
}
