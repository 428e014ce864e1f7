//! Reading, merging and resolving options: table-driven, over the real
//! groups, the real TOML reader and the real clap command.

use super::*;
use clap::{CommandFactory as _, FromArgMatches as _};

/// `trawl crawl`'s arguments, as the binary flattens them.
#[derive(Debug, clap::Parser)]
struct Cli {
    #[command(flatten)]
    target: TargetOptions,
    #[command(flatten)]
    options: CrawlOptions,
}

fn flags(args: &[&str]) -> Result<(TargetOptions, CrawlOptions), clap::Error> {
    let argv = std::iter::once("crawl").chain(args.iter().copied());
    let m = Cli::command().try_get_matches_from(argv)?;
    let c = Cli::from_arg_matches(&m)?;
    Ok((c.target, c.options))
}

const SEED: [&str; 3] = ["http://127.0.0.1:1/", "--store", "/tmp/x"];

/// Resolves `SEED` plus `args`.
fn with(args: &[&str]) -> Result<CrawlConfig, ConfigErrors> {
    let (t, o) = flags(&[&SEED[..], args].concat()).expect("flags parse");
    resolve(t, o)
}

fn fields(e: &ConfigErrors) -> Vec<&str> {
    e.0.iter().map(|e| e.field.as_str()).collect()
}

#[test]
fn defaults_resolve() {
    let c = with(&[]).unwrap();
    assert_eq!(c.workers, DEFAULT_WORKERS);
    assert_eq!(c.concurrency, DEFAULT_CONCURRENCY);
    assert_eq!(c.scope.hosts, vec!["127.0.0.1:1".to_owned()]);
    assert_eq!(c.fetch, FetchSettings::default());
    assert!(c.robots && !c.sitemaps && !c.keep_bodies && !c.ignore_nofollow);
}

#[test]
fn human_units_reach_the_config() {
    type Check = fn(&CrawlConfig) -> bool;
    let cases: &[(&[&str], Check)] = &[
        (&["--max-bytes", "10MiB"], |c| c.fetch.max_bytes == 10 << 20),
        (&["--max-bytes", "4096"], |c| c.fetch.max_bytes == 4096),
        (&["--timeout", "30s"], |c| c.fetch.total_timeout == Duration::from_secs(30)),
        (&["--timeout", "5"], |c| c.fetch.total_timeout == Duration::from_secs(5)),
        (&["--timeout", "500ms"], |c| c.fetch.read_timeout == Duration::from_millis(500)),
        (&["--delay", "250ms"], |c| c.delay == Some(Duration::from_millis(250))),
        (&["--delay", "0.5"], |c| c.delay == Some(Duration::from_millis(500))),
        (&["--delay", "0"], |c| c.delay == Some(Duration::ZERO)),
        (&["--connect-timeout", "1.5s"], |c| {
            c.fetch.connect_timeout == Duration::from_millis(1500)
        }),
        (&["--workers", "auto"], |c| c.workers == 1 && c.autoscale.is_some()),
        (&["--autoscale", "2..6"], |c| (c.workers, c.autoscale) == (2, Some((2, 6)))),
        (&["--keep-bodies"], |c| c.keep_bodies),
        (&["--keep-bodies=false"], |c| !c.keep_bodies),
        (&["--ignore-robots"], |c| !c.robots),
        (&["--concurrency", "16384"], |c| c.concurrency == 16_384),
        (&["--parse-budget", "1ms"], |c| c.fetch.parse_cpu_budget == Duration::from_millis(1)),
        (&["--parse-budget", "0.5"], |c| c.fetch.parse_cpu_budget == Duration::from_millis(500)),
        (&["--max-attributes", "8"], |c| c.fetch.max_attributes == 8),
        (&["--allow-private"], |c| c.fetch.network.allow_private),
        (&["--allow-private=false"], |c| !c.fetch.network.allow_private),
        (&["--resolve", "Public.Test:127.0.0.2", "--resolve", "v6.test:[::1]"], |c| {
            c.fetch.network.resolve
                == [
                    ("public.test".to_owned(), "127.0.0.2".parse().unwrap()),
                    ("v6.test".to_owned(), "::1".parse().unwrap()),
                ]
        }),
    ];
    for (args, ok) in cases {
        let c = with(args).unwrap_or_else(|e| panic!("{args:?}: {e}"));
        assert!(ok(&c), "{args:?} gave {c:#?}");
    }
}

#[test]
fn bad_values_are_refused_by_clap_naming_the_flag() {
    for (args, says) in [
        (&["--delay", "-1"][..], "must not be negative"),
        (&["--timeout", "-0.5s"], "must not be negative"),
        (&["--max-bytes", "-1"], "must not be negative"),
        (&["--workers", "-2"], "must not be negative"),
        (&["--max-pages", "-5"], "must not be negative"),
        (&["--retries", "-1"], "must not be negative"),
        (&["--timeout", "soon"], "e.g. 30s"),
        (&["--max-bytes", "lots"], "e.g. 10MiB"),
        (&["--workers", "many"], "`auto`"),
        (&["--parse-budget", "-1s"], "must not be negative"),
        (&["--max-attributes", "-1"], "must not be negative"),
    ] {
        let e = flags(&[&SEED[..], args].concat()).unwrap_err().to_string();
        assert!(e.contains(args[0]) && e.contains(says), "{args:?}: {e}");
    }
}

#[test]
fn every_bad_field_is_named() {
    let (mut t, mut o) = flags(&["ftp://x/", "--workers", "0", "--concurrency", "0"]).unwrap();
    o.scope.scope = Some("planet".into());
    t.store = None;
    let errs = resolve(t, o).unwrap_err();
    assert_eq!(fields(&errs), ["seed", "--store", "--workers", "--concurrency", "--scope"]);
    assert!(errs.to_string().contains("unsupported scheme"));
}

#[test]
fn out_of_range_values_are_named() {
    for (args, field) in [
        (&["--workers", "257"][..], "--workers"),
        (&["--autoscale", "5..2"], "--autoscale"),
        (&["--concurrency", "16385"], "--concurrency"),
        (&["--parse-budget", "0"], "--parse-budget"),
        (&["--parse-budget", "2d"], "--parse-budget"),
        (&["--max-attributes", "0"], "--max-attributes"),
        (&["--resolve", "public.test"], "--resolve"),
        (&["--resolve", "public.test:nowhere"], "--resolve"),
        (&["--resolve", "bad host:127.0.0.2"], "--resolve"),
        (&["--resolve", ":127.0.0.2"], "--resolve"),
        (&["--resolve", "a.test:127.0.0.2", "--resolve", "A.test:127.0.0.3"], "--resolve"),
        (&["--crash-limit", "0"], "--crash-limit"),
        (&["--worker-max-pages", "0"], "--worker-max-pages"),
        (&["--max-pages", "0"], "--max-pages"),
        (&["--frontier-memory", "0"], "--frontier-memory"),
        (&["--per-host", "0"], "--per-host"),
        (&["--timeout", "0"], "--timeout"),
        (&["--timeout", "2d"], "--timeout"),
        (&["--connect-timeout", "0s"], "--connect-timeout"),
        (&["--max-bytes", "0"], "--max-bytes"),
        (&["--retries", "11"], "--retries"),
        (&["--deny", "("], "--deny"),
        (&["--user-agent", " "], "--user-agent"),
        (&["--api", "nowhere"], "--api"),
        (&["--api", "0.0.0.0:8080"], "--api"),
        (&["--sitemaps", "--ignore-robots"], "--sitemaps"),
        (&["--extract", "a=h1", "--extract", "a=h2"], "--extract"),
        (&["--extract", "posts=a["], "extract.posts"),
        (&["--revisit", "0"], "--revisit"),
        (&["--revisit", "1s", "--revisit-min", "1m"], "--revisit"),
        (&["--revisit-min", "1m", "--revisit-max", "1s"], "--revisit-min"),
        (&["--revisit-rule", "http://*/news/*=0s"], "--revisit-rule"),
        (&["--revisit-rule", "http://*/x=60d"], "--revisit-rule"),
    ] {
        let errs = with(args).expect_err(&format!("{args:?} resolved"));
        assert_eq!(fields(&errs), [field], "{args:?}: {errs}");
    }
    assert!(with(&["--api", "0.0.0.0:8080", "--api-token", "s3cret"]).is_ok());
}

/// What `--help` says the default is, is the default: giving the
/// documented value explicitly resolves to the same config. Every option
/// documents one.
#[test]
fn help_defaults_are_the_real_defaults() {
    let cmd = Cli::command();
    let baseline = with(&[]).unwrap();
    let mut checked = 0;
    for arg in cmd.get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        // The cluster options only apply with --cluster (checked below).
        if ["store", "help"].contains(&long) || long.starts_with("cluster") {
            continue;
        }
        let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
        let default = help
            .split_once("[default: ")
            .and_then(|(_, rest)| rest.split_once(']'))
            .map(|(d, _)| d.replace("VERSION", env!("CARGO_PKG_VERSION")))
            .unwrap_or_else(|| panic!("--{long} shows no default: {help:?}"));
        if ["none", "off", "never", "unlimited"].contains(&default.as_str())
            || default.contains(' ')
        {
            continue; // "not set", or a rule (`0.25s for public hosts, ...`)
        }
        let flag = format!("--{long}={default}");
        let c = with(&[&flag]).unwrap_or_else(|e| panic!("{flag}: {e}"));
        assert_eq!(c, baseline, "{flag} is not the default");
        checked += 1;
    }
    assert!(checked >= 15, "only {checked} defaults checked");
    let db = "--cluster=postgres://trawl@127.0.0.1/trawl";
    assert_eq!(
        with(&[db, "--cluster-lease=10s"]).unwrap(),
        with(&[db]).unwrap(),
        "--cluster-lease=10s is not the default"
    );
}

#[test]
fn file_keys_and_values() {
    let file = ConfigFile::from_toml(
        "version = 1\nseeds = [\"http://a/\"]\nstore = \"/tmp/s\"\nworkers = 3\n\
         delay_secs = 0.5\ntimeout_secs = \"1m\"\nmax_bytes = \"64KiB\"\n\
         connect_timeout_secs = 2\nallow = [\"^http://a/\"]\nkeep_bodies = true\n\
         parse_budget = \"250ms\"\nmax_attributes = 64\nallow_private = true\n\
         resolve = [\"public.test:127.0.0.2\"]\n\
         [extract]\nh = { selector = \"h1\" }\n",
    )
    .unwrap();
    let c = resolve(file.target, file.options).unwrap();
    assert_eq!((c.workers, c.delay), (3, Some(Duration::from_millis(500))));
    assert_eq!(c.fetch.total_timeout, Duration::from_secs(60));
    assert_eq!(c.fetch.connect_timeout, Duration::from_secs(2));
    assert_eq!(c.fetch.max_bytes, 64 << 10);
    assert_eq!(c.scope.allow, ["^http://a/"]);
    assert_eq!(c.extract.len(), 1);
    assert!(c.keep_bodies && c.robots);
    assert_eq!(c.fetch.parse_cpu_budget, Duration::from_millis(250));
    assert_eq!(c.fetch.max_attributes, 64);
    assert!(c.fetch.network.allow_private);
    assert_eq!(c.fetch.network.resolve, [("public.test".to_owned(), "127.0.0.2".parse().unwrap())]);
}

#[test]
fn flags_are_laid_over_the_file() {
    let file = ConfigFile::from_toml(
        "seeds = [\"http://a/\"]\nstore = \"/tmp/s\"\nworkers = 3\nallow = [\"a\", \"b\"]\n\
         ignore_robots = true\nmax_pages = 50\n",
    )
    .unwrap();
    let (t, o) = flags(&["--workers", "5", "--allow", "c", "--ignore-robots=false"]).unwrap();
    let (t, o) = file.merged_with(t, o);
    let c = resolve(t, o).unwrap();
    assert_eq!(c.workers, 5, "flag wins");
    assert_eq!(c.max_pages, Some(50), "file fills in");
    assert_eq!(c.scope.allow, ["c"], "a list replaces the file's whole");
    assert!(c.robots, "--ignore-robots=false beats the file's true");
    assert_eq!(c.seeds[0].as_str(), "http://a/");
}

/// Each bad file: the key named, and where (line:column).
#[test]
fn file_errors_name_the_key_line_and_column() {
    for (text, key, at) in [
        ("seeds = []\nwokers = 2\n", "wokers", "2:1"),
        ("workers = true\n", "workers", "1:11"),
        ("seeds = []\nmax_pages = \"lots\"\n", "max_pages", "2:13"),
        ("delay_secs = -1.0\n", "delay_secs", "1:14"),
        ("timeout_secs = \"soon\"\n", "timeout_secs", "1:16"),
        ("max_bytes = -1\n", "max_bytes", "1:13"),
        ("\n\n  concurrency = \"x\"\n", "concurrency", "3:17"),
        ("[extract]\nposts = { selector = \"a\", bogus = 1 }\n", "extract", "2:"),
        ("workers = 2\nworkers = 3\n", "config", "2:1"),
        // Valid TOML, invalid value: found by resolving, placed in the file.
        ("workers = 1\nconcurrency = 0\n", "concurrency", "2:15"),
        ("timeout_secs = 0\n", "timeout_secs", "1:16"),
        ("workers = -1\n", "workers", "1:11"),
        ("workers = \"lots\"\n", "workers", "1:11"),
        ("seeds = [\"ftp://x/\"]\n", "seeds", "1:9"),
        ("\nscope = \"planet\"\n", "scope", "2:9"),
        ("[extract]\nposts = { selector = \"a[\" }\n", "extract.posts", "2:9"),
        ("seeds = [\n", "config", "1:10"),
        ("parse_budget = 0\n", "parse_budget", "1:16"),
        ("resolve = [\"x.test:nowhere\"]\n", "resolve", "1:11"),
    ] {
        let e = ConfigFile::from_toml(text).unwrap_err();
        let first = &e.0[0];
        assert_eq!(first.field, key, "{text:?}: {e}");
        assert!(first.message.starts_with(at), "{text:?} should point at {at}: {e}");
    }
    for text in ["workers = \"auto\"\n", "workers = 4\n", "workers = \"4\"\n"] {
        assert!(ConfigFile::from_toml(text).is_ok(), "{text:?}");
    }
    let e = ConfigFile::from_toml("version = 9\n").unwrap_err();
    assert_eq!(fields(&e), ["version"]);
}

/// A file may leave out seeds and store, and take the API token from
/// elsewhere; those are checked once the flags are laid over it.
#[test]
fn a_partial_file_is_valid() {
    let file = ConfigFile::from_toml("api = \"0.0.0.0:8080\"\nworkers = 1\n").unwrap();
    let (t, o) = flags(&[&SEED[..], &["--api-token", "s3cret"]].concat()).unwrap();
    let (t, o) = file.clone().merged_with(t, o);
    assert!(resolve(t, o).is_ok());
    let (t, o) = file.merged_with(flags(&SEED).unwrap().0, CrawlOptions::default());
    assert_eq!(fields(&resolve(t, o).unwrap_err()), ["--api"]);
}

/// The flag behind each file key: same struct, same order, so an error
/// found by resolving names the key the file used.
#[test]
fn every_flag_has_its_file_key() {
    fn counts<G: clap::Args + serde::de::DeserializeOwned>() -> (usize, usize) {
        let n = G::augment_args(clap::Command::new("g")).get_arguments().count();
        (n, file::serde_keys::<G>().len())
    }
    for (n, keys) in [
        counts::<TargetOptions>(),
        counts::<PoolOptions>(),
        counts::<LimitOptions>(),
        counts::<ScopeOptions>(),
        counts::<PolitenessOptions>(),
        counts::<FetchOptions>(),
        counts::<OutputOptions>(),
        counts::<ApiOptions>(),
    ] {
        assert_eq!(n, keys, "a group's flags and keys differ in number");
    }
    for (id, key) in all_flag_keys() {
        assert!(key == id || key == format!("{id}_secs"), "--{id} is file key {key}");
    }
    for (flag, key) in [
        ("--timeout", "timeout_secs"),
        ("--connect-timeout", "connect_timeout_secs"),
        ("--delay", "delay_secs"),
        ("--max-pages", "max_pages"),
        ("--api-token", "api_token"),
        ("seed", "seeds"),
    ] {
        assert_eq!(key_of(flag), Some(key), "{flag}");
    }
    assert_eq!(key_of("--nope"), None);
}

#[test]
fn every_bad_key_in_a_file_is_reported() {
    let e = ConfigFile::from_toml("workers = \"x\"\nmax_pagez = 5\ndelay_secs = -1\nzzz = 1\n")
        .unwrap_err();
    assert_eq!(fields(&e), ["workers", "max_pagez", "delay_secs", "zzz"], "{e}");
    assert!(e.0[1].message.ends_with("unknown key (did you mean `max_pages`?)"), "{e}");
    assert!(e.0[3].message.contains("the keys are: allow, allow_private, api,"), "{e}");
}

/// The shipped example documents every key and must stay valid.
#[test]
fn example_config_parses_and_documents_every_key() {
    let text = include_str!("../../../deploy/trawl.example.toml");
    let file = ConfigFile::from_toml(text).unwrap();
    let c = resolve(file.target, file.options).unwrap();
    assert_eq!(c.workers, 2);
    assert_eq!(c.scope.deny.len(), 1);
    assert_eq!(c.extract.len(), 2, "the [extract] table resolves");
    let keys = file_keys();
    assert!(keys.len() >= 28, "{keys:?}");
    for key in keys {
        let documented = text.contains(&format!("{key} =")) || text.contains(&format!("[{key}]"));
        assert!(documented, "the example lacks `{key}`");
    }
}

#[test]
fn extract_table_deserializes() {
    let file = ConfigFile::from_toml(
        "seeds = [\"http://h/\"]\nstore = \"/tmp/x\"\n[extract]\n\
         posts = { selector = \"a.post-item-title\", attr = \"href\", all = true }\n\
         pairs = { selector = \"a\", take = \"href\", pair = \"text\" }\n",
    )
    .unwrap();
    let c = resolve(file.target, file.options).unwrap();
    let names: Vec<&str> = c.extract.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["pairs", "posts"]);
    assert!(c.extract[1].all);
    let s = c.worker_settings();
    assert_eq!(s.extract.len(), 2);
}
