//! The one escape for text written into the HTML pages and SVG plots the
//! product makes (`inspect --html`, the study's and training's plots).

/// `text` safe inside HTML/SVG/XML content and quoted attribute values:
/// `& < > " '` become character references (`'` as `&#39;`, which HTML and
/// XML both know), and control characters other than tab and newline, which
/// XML 1.0 does not allow, become spaces.
pub fn escape(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '"' => s.push_str("&quot;"),
            '\'' => s.push_str("&#39;"),
            c if (c as u32) < 0x20 && c != '\t' && c != '\n' => s.push(' '),
            c => s.push(c),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_markup_and_control_characters() {
        assert_eq!(
            escape("a<b & \"c\" 'd'>"),
            "a&lt;b &amp; &quot;c&quot; &#39;d&#39;&gt;"
        );
        assert_eq!(escape("x\u{1}y\tz\n"), "x y\tz\n");
        assert_eq!(escape("héllo"), "héllo");
    }
}
