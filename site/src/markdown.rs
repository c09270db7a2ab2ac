//! Markdown pages to HTML (pulldown-cmark, CommonMark plus tables), headings given ids for anchors (`{#id}` or
//! a slug of their text).

use anyhow::{anyhow, Result};
use pulldown_cmark::{html, CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

/// Fills a page's template expressions (minijinja, no escaping: the result is Markdown, not HTML). Values that
/// come from manifests are checked by `Manifest::parse` (file names, URLs, hex digests). Only pages with `{{` or
/// `{%` are templates; in them `{#` opens a template comment, so their headings take the slug as id.
pub fn expand(name: &str, src: &str, ctx: minijinja::Value) -> Result<String> {
    if !src.contains("{{") && !src.contains("{%") {
        return Ok(src.to_string());
    }
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.set_keep_trailing_newline(true);
    env.render_str(src, ctx).map_err(|e| anyhow!("page {name}: {e:#}"))
}

/// The page's title: the text of its first `# ` heading.
pub fn title(src: &str) -> String {
    src.lines().find_map(|l| l.strip_prefix("# ")).unwrap_or("nixos-images").trim().to_string()
}

/// A heading's anchor: lower-case words joined by `-`.
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

/// Renders a page; the first `# ` heading is left out (the template shows the title).
pub fn to_html(src: &str) -> String {
    let opts = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_HEADING_ATTRIBUTES;
    let events: Vec<Event> = Parser::new_ext(src, opts).collect();
    let mut out: Vec<Event> = Vec::with_capacity(events.len());
    let mut i = 0;
    let mut skipped_title = false;
    while i < events.len() {
        if let Event::Start(Tag::Heading { level, id, .. }) = &events[i] {
            let (level, given_id) = (*level, id.clone());
            let end = events[i..].iter().position(|e| matches!(e, Event::End(TagEnd::Heading(_)))).unwrap() + i;
            let text: String = events[i + 1..end]
                .iter()
                .filter_map(|e| match e {
                    Event::Text(t) | Event::Code(t) => Some(t.to_string()),
                    _ => None,
                })
                .collect();
            if level == HeadingLevel::H1 && !skipped_title {
                skipped_title = true;
                i = end + 1;
                continue;
            }
            out.push(Event::Start(Tag::Heading {
                level,
                id: Some(given_id.unwrap_or_else(|| CowStr::from(slug(&text)))),
                classes: vec![],
                attrs: vec![],
            }));
            out.extend(events[i + 1..=end].iter().cloned());
            i = end + 1;
            continue;
        }
        out.push(events[i].clone());
        i += 1;
    }
    let mut html_out = String::new();
    html::push_html(&mut html_out, out.into_iter());
    html_out
}
