//! How the site changes over time: a *generation* counter (0 at start,
//! advanced by the test or `POST /_site/advance`) and a [`ChangeSpec`]
//! that decides, as a pure function of the page number and the
//! generation, which pages changed, which changed only in markup, which
//! were deleted, and which validators (ETag, Last-Modified) each page's
//! host sends. [`SiteSpec::changes_between`] tells a test exactly what a
//! refresh should find.
//!
//! # The schedule
//!
//! * Page `i` changes at generation `g >= 1` when `(g + i) % every == 0`:
//!   with `every = 10`, a tenth of the pages change at each generation.
//!   Its *version* at generation `g` is the number of such `g' <= g`.
//! * A page with `i % cosmetic_every == 0` changes only its markup (a
//!   `data-revision` attribute and a comment): its title, posts and links,
//!   and so the fields a crawler extracts, stay the same. Every other
//!   changing page gets a new `<title>` and a `<p class="update">`.
//! * A page `i > 0` with `i % delete_every == 0` is deleted from
//!   generation `delete_at` on: it answers 404 when `i / delete_every` is
//!   even and 410 when it is odd. Links to it stay on other pages.
//! * Validators: entry `k % len` of [`ChangeSpec::validators`], `k` being
//!   the host index or the page number ([`ValidatorsBy`]). With an ETag the
//!   page answers `If-None-Match` with 304 when the tag matches; with a
//!   Last-Modified (the page's last change, an hour per generation after
//!   [`LAST_MODIFIED_EPOCH`]) it answers `If-Modified-Since` with 304 when
//!   it has not changed since; with neither it always sends the page.

use crate::spec::SiteSpec;

/// Unix time of generation 0's Last-Modified (2026-01-01T00:00:00Z); each
/// generation is one hour later.
pub const LAST_MODIFIED_EPOCH: u64 = 1_767_225_600;

/// The validators a page's responses carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Validators {
    /// `ETag` only (`If-None-Match` can give 304).
    ETag,
    /// `Last-Modified` only (`If-Modified-Since` can give 304).
    LastModified,
    /// Both headers (`If-None-Match` wins when both are sent).
    Both,
    /// Neither: every request gets the whole page.
    None,
}

impl Validators {
    /// Sends an ETag.
    pub fn etag(self) -> bool {
        matches!(self, Validators::ETag | Validators::Both)
    }
    /// Sends a Last-Modified.
    pub fn last_modified(self) -> bool {
        matches!(self, Validators::LastModified | Validators::Both)
    }
}

/// What [`ChangeSpec::validators`] is indexed by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ValidatorsBy {
    /// The page number: every host mixes all kinds (the default, so a
    /// one-host test sees every kind).
    #[default]
    Page,
    /// The host index: some hosts send ETags, some Last-Modified, some
    /// neither, as in the wild.
    Host,
}

/// How pages change over generations; the default never changes anything
/// (generation 0 is the site as it always was).
#[derive(Clone, Debug)]
pub struct ChangeSpec {
    /// Page `i` changes at generation `g >= 1` when `(g + i) % every == 0`
    /// (0: pages never change).
    pub every: u32,
    /// Changing pages with `i % cosmetic_every == 0` change only markup,
    /// not the extracted fields (0: none).
    pub cosmetic_every: u32,
    /// Pages `i > 0` with `i % delete_every == 0` are deleted ... (0: none)
    pub delete_every: u32,
    /// ... from this generation on.
    pub delete_at: u32,
    /// The validators, cycled over hosts or pages (empty: none at all).
    pub validators: Vec<Validators>,
    /// Whether [`ChangeSpec::validators`] cycles over hosts or pages.
    pub validators_by: ValidatorsBy,
}

impl Default for ChangeSpec {
    fn default() -> Self {
        ChangeSpec {
            every: 0,
            cosmetic_every: 0,
            delete_every: 0,
            delete_at: 1,
            validators: vec![Validators::ETag, Validators::LastModified, Validators::None],
            validators_by: ValidatorsBy::Page,
        }
    }
}

/// One page at one generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageState {
    /// How many times it changed since generation 0.
    pub version: u32,
    /// The generation of its last change (0: never changed).
    pub changed_at: u32,
    /// It changes only in markup (its extracted fields never change).
    pub cosmetic: bool,
    /// `Some(404 | 410)` once deleted.
    pub gone: Option<u16>,
}

/// What changed between two generations ([`SiteSpec::changes_between`]),
/// each list sorted by page number.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// Pages whose content (title and an update paragraph) changed.
    pub changed: Vec<u32>,
    /// Pages whose markup changed but whose extracted fields did not.
    pub cosmetic: Vec<u32>,
    /// Pages there at the first generation and deleted at the second.
    pub gone: Vec<u32>,
    /// Pages there at both generations and identical.
    pub unchanged: Vec<u32>,
}

impl ChangeSpec {
    /// The validators of page `i` on host `host`.
    pub fn validators_of(&self, host: usize, i: u32) -> Validators {
        if self.validators.is_empty() {
            return Validators::None;
        }
        let k = match self.validators_by {
            ValidatorsBy::Page => i as usize,
            ValidatorsBy::Host => host,
        };
        self.validators[k % self.validators.len()]
    }

    /// Page `i` at generation `g`.
    pub fn state(&self, i: u32, g: u32) -> PageState {
        let (version, changed_at) = if self.every == 0 {
            (0, 0)
        } else {
            let (e, i, g) = (u64::from(self.every), u64::from(i), u64::from(g));
            let version = (i + g) / e - i / e;
            let last = if version == 0 { 0 } else { (i + g) / e * e - i };
            (version as u32, last as u32)
        };
        let cosmetic = self.cosmetic_every != 0 && i.is_multiple_of(self.cosmetic_every);
        let gone = (self.delete_every != 0
            && i > 0
            && i.is_multiple_of(self.delete_every)
            && g >= self.delete_at)
            .then(|| if (i / self.delete_every).is_multiple_of(2) { 404 } else { 410 });
        PageState { version, changed_at, cosmetic, gone }
    }
}

impl SiteSpec {
    /// Page `i` at generation `g` (see [`ChangeSpec`]).
    pub fn state(&self, i: u32, g: u32) -> PageState {
        self.changes.state(i, g)
    }

    /// Exactly what a crawler refreshing every page at generation `to`
    /// after fetching them all at generation `from` should find. Pages
    /// already gone at `from` are in no list.
    pub fn changes_between(&self, from: u32, to: u32) -> Changes {
        let mut out = Changes::default();
        for i in 0..self.n() {
            let (a, b) = (self.state(i, from), self.state(i, to));
            if a.gone.is_some() {
                continue;
            }
            let list = match () {
                _ if b.gone.is_some() => &mut out.gone,
                _ if a.version == b.version => &mut out.unchanged,
                _ if b.cosmetic => &mut out.cosmetic,
                _ => &mut out.changed,
            };
            list.push(i);
        }
        out
    }

    /// The decoded `<title>` of page `i` at generation `g`.
    pub fn title_at(&self, i: u32, g: u32) -> String {
        let s = self.state(i, g);
        if s.version == 0 || s.cosmetic {
            self.title(i)
        } else {
            format!("{} (update {})", self.title(i), s.version)
        }
    }

    /// The `ETag` of page `i` at generation `g` (sent or not).
    pub fn etag(&self, i: u32, g: u32) -> String {
        format!("\"p{i}-v{}\"", self.state(i, g).version)
    }

    /// The `Last-Modified` of page `i` at generation `g`, as Unix seconds.
    pub fn last_modified(&self, i: u32, g: u32) -> u64 {
        LAST_MODIFIED_EPOCH + u64::from(self.state(i, g).changed_at) * 3600
    }
}

/// `secs` (Unix time) as an IMF-fixdate (`Thu, 01 Jan 2026 00:00:00 GMT`).
pub fn http_date(secs: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{}, {d:02} {} {y} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        MONTHS[(m - 1) as usize],
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

const MONTHS: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// An IMF-fixdate back to Unix seconds (`None` for anything else: the
/// obsolete formats a crawler would not echo back).
pub fn parse_http_date(s: &str) -> Option<u64> {
    let mut it = s.strip_suffix(" GMT")?.split([' ', ':']);
    let _weekday = it.next()?;
    let d: u64 = it.next()?.parse().ok()?;
    let month = it.next()?;
    let m = MONTHS.iter().position(|&x| x == month)? as u64 + 1;
    let y: i64 = it.next()?.parse().ok()?;
    let (hh, mm, ss): (u64, u64, u64) =
        (it.next()?.parse().ok()?, it.next()?.parse().ok()?, it.next()?.parse().ok()?);
    if it.next().is_some() || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    let days = u64::try_from(days_from_civil(y, m, d)).ok()?;
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant).
fn days_from_civil(y: i64, m: u64, d: u64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, u64, u64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u64;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u64;
    (if m <= 2 { yoe + era * 400 + 1 } else { yoe + era * 400 }, m, d)
}
