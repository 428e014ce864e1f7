//! XML sitemaps (sitemaps.org 0.9): `<urlset>` lists pages, `<sitemapindex>`
//! lists more sitemaps. Sync and pure; gzip (`.xml.gz`) is inflated here
//! under a size cap.

use std::io::Read as _;

/// Sitemaps are capped at 50 MB uncompressed by the protocol.
pub const MAX_SITEMAP_BYTES: u64 = 50 * 1024 * 1024;

/// What one sitemap lists.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Sitemap {
    /// `<url><loc>` entries.
    pub pages: Vec<String>,
    /// `<sitemap><loc>` entries (of a sitemap index).
    pub sitemaps: Vec<String>,
}

/// Inflates a gzip body (by magic bytes), keeping at most
/// [`MAX_SITEMAP_BYTES`].
pub fn maybe_gunzip(body: Vec<u8>) -> Result<Vec<u8>, String> {
    if !body.starts_with(&[0x1f, 0x8b]) {
        return Ok(body);
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(&body[..])
        .take(MAX_SITEMAP_BYTES)
        .read_to_end(&mut out)
        .map_err(|e| format!("gzip: {e}"))?;
    Ok(out)
}

/// Parses a sitemap or sitemap index.
pub fn parse(xml: &str) -> Result<Sitemap, String> {
    let doc = roxmltree::Document::parse(xml).map_err(|e| e.to_string())?;
    let mut out = Sitemap::default();
    for loc in doc.descendants().filter(|n| n.has_tag_name("loc") || n.tag_name().name() == "loc") {
        let Some(text) = loc.text().map(str::trim).filter(|t| !t.is_empty()) else { continue };
        match loc.parent_element().map(|p| p.tag_name().name()) {
            Some("url") => out.pages.push(text.to_owned()),
            Some("sitemap") => out.sitemaps.push(text.to_owned()),
            _ => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    #[test]
    fn urlset_and_index() {
        let urlset = r#"<?xml version="1.0" encoding="UTF-8"?>
            <urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
              <url><loc> http://h.test/a </loc><lastmod>2024-01-01</lastmod></url>
              <url><loc>http://h.test/b?x=1&amp;y=2</loc></url>
            </urlset>"#;
        let s = parse(urlset).unwrap();
        assert_eq!(s.pages, ["http://h.test/a", "http://h.test/b?x=1&y=2"]);
        assert!(s.sitemaps.is_empty());
        let index = r#"<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
              <sitemap><loc>http://h.test/s1.xml</loc></sitemap></sitemapindex>"#;
        assert_eq!(parse(index).unwrap().sitemaps, ["http://h.test/s1.xml"]);
        assert!(parse("<not xml").is_err());
    }

    #[test]
    fn gzip_is_inflated() {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(b"<urlset><url><loc>http://h/x</loc></url></urlset>").unwrap();
        let gz = enc.finish().unwrap();
        let plain = maybe_gunzip(gz).unwrap();
        assert_eq!(parse(std::str::from_utf8(&plain).unwrap()).unwrap().pages, ["http://h/x"]);
        assert_eq!(maybe_gunzip(b"<x/>".to_vec()).unwrap(), b"<x/>");
    }
}
