//! What the HTML tree builder does with an element, by name: the tables
//! the strictness scan ([`super::strict`]) checks a page against.

/// Elements after which the page goes to the DOM path.
pub(super) fn special(name: &str) -> bool {
    matches!(
        name,
        "table"
            | "caption"
            | "colgroup"
            | "col"
            | "tbody"
            | "thead"
            | "tfoot"
            | "tr"
            | "td"
            | "th"
            | "select"
            | "option"
            | "optgroup"
            | "datalist"
            | "template"
            | "svg"
            | "math"
            | "frameset"
            | "frame"
            | "image"
            | "isindex"
            | "textarea"
            | "pre"
            | "listing"
            | "xmp"
            | "iframe"
            | "noembed"
            | "noframes"
            | "noscript"
            | "plaintext"
            | "rb"
            | "rt"
            | "rp"
            | "rtc"
            | "applet"
            | "marquee"
            | "object"
            | "keygen"
            | "menuitem"
            | "nobr"
            | "ruby"
    )
}

/// Start tags that close an open `<p>` (HTML's "close a p element").
pub(super) fn closes_p(name: &str) -> bool {
    matches!(
        name,
        "address"
            | "article"
            | "aside"
            | "blockquote"
            | "center"
            | "details"
            | "dialog"
            | "dir"
            | "div"
            | "dl"
            | "fieldset"
            | "figcaption"
            | "figure"
            | "footer"
            | "header"
            | "hgroup"
            | "main"
            | "menu"
            | "nav"
            | "ol"
            | "p"
            | "search"
            | "section"
            | "summary"
            | "ul"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "li"
            | "dd"
            | "dt"
            | "form"
            | "hr"
    )
}

pub(super) fn heading(name: &str) -> bool {
    matches!(name, "h1" | "h2" | "h3" | "h4" | "h5" | "h6")
}

/// Elements that never have content or an end tag.
pub(super) fn void(name: &str) -> bool {
    matches!(
        name,
        "area"
            | "base"
            | "basefont"
            | "bgsound"
            | "br"
            | "embed"
            | "hr"
            | "img"
            | "input"
            | "link"
            | "meta"
            | "param"
            | "source"
            | "track"
            | "wbr"
    )
}

/// Elements whose text is raw up to their end tag (and which the fast
/// path reads as a browser does).
pub(super) fn raw(name: &str) -> bool {
    matches!(name, "script" | "style" | "title")
}

/// Elements that belong in `<head>`.
pub(super) fn head_content(name: &str) -> bool {
    matches!(name, "base" | "basefont" | "bgsound" | "link" | "meta" | "title" | "style" | "script")
}
