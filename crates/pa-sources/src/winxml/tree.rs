//! The bounded element tree of an event and its builder: the `quick-xml` token stream with the
//! DOCTYPE, entity, depth and token limits applied, and `RenderingInfo` located.

use std::borrow::Cow;

use quick_xml::events::attributes::Attributes;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::QName;
use quick_xml::reader::Reader;

use super::{MAX_DEPTH, MAX_TOKENS, WinXmlError, WinXmlErrorKind};

/// A minimal element tree (local names only), bounded by the token limit. Names, attribute
/// values and text borrow from the document where they need no unescaping.
#[derive(Debug, Clone, Default)]
pub(super) struct Node<'a> {
    pub(super) name: Cow<'a, str>,
    pub(super) attrs: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    pub(super) children: Vec<Node<'a>>,
    pub(super) text: Cow<'a, str>,
}

impl<'a> Node<'a> {
    pub(super) fn child(&self, name: &str) -> Option<&Node<'a>> {
        self.children.iter().find(|c| c.name == name)
    }
    pub(super) fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_ref())
    }
    /// Append text (borrowing it when it is the first piece).
    fn push_text(&mut self, t: Cow<'a, str>) {
        if self.text.is_empty() {
            self.text = t;
        } else {
            self.text.to_mut().push_str(&t);
        }
    }
    /// The same element owning its strings (an element without children).
    fn into_owned(self) -> Node<'static> {
        let own = |c: Cow<'_, str>| Cow::Owned(c.into_owned());
        Node {
            name: own(self.name),
            attrs: self
                .attrs
                .into_iter()
                .map(|(k, v)| (own(k), own(v)))
                .collect(),
            children: Vec::new(),
            text: own(self.text),
        }
    }
}

fn doctype_kind(content: &str) -> WinXmlErrorKind {
    // External identifiers (`SYSTEM "..."` / `PUBLIC "..." "..."`) anywhere in the DOCTYPE,
    // including external entity declarations in the internal subset.
    let has_word = |w: &str| {
        content.match_indices(w).any(|(i, _)| {
            let before = content[..i].chars().next_back();
            let after = content[i + w.len()..].chars().next();
            let boundary = |c: Option<char>| c.is_none_or(|c| !c.is_ascii_alphanumeric());
            boundary(before) && boundary(after)
        })
    };
    if has_word("SYSTEM") || has_word("PUBLIC") {
        WinXmlErrorKind::ExternalEntityDisallowed
    } else {
        WinXmlErrorKind::DisallowedDoctype
    }
}

fn predefined_entity(name: &str) -> Option<char> {
    match name {
        "lt" => Some('<'),
        "gt" => Some('>'),
        "amp" => Some('&'),
        "apos" => Some('\''),
        "quot" => Some('"'),
        _ => None,
    }
}

fn is_ns_decl(key: &str) -> bool {
    key == "xmlns" || key.starts_with("xmlns:")
}

/// The element of a start tag read from `doc`: borrowing from `doc` (the tag is a slice of it,
/// found by address), or owning its strings if the reader gave a copy.
fn open_element<'a>(
    doc: &'a str,
    e: &BytesStart<'_>,
    tokens: &mut usize,
    pos: u64,
) -> Result<Node<'a>, WinXmlError> {
    let name_len = e.name().into_inner().len();
    let tag: &str = e;
    let start = (tag.as_ptr() as usize).wrapping_sub(doc.as_ptr() as usize);
    match doc.get(start..start.saturating_add(tag.len())) {
        Some(slice) if slice.as_ptr() == tag.as_ptr() => element(slice, name_len, tokens, pos),
        _ => element(tag, name_len, tokens, pos).map(Node::into_owned),
    }
}

/// The element of the tag text `buf` (name, then attributes from `name_len`).
fn element<'a>(
    buf: &'a str,
    name_len: usize,
    tokens: &mut usize,
    pos: u64,
) -> Result<Node<'a>, WinXmlError> {
    *tokens += 1;
    let mut node = Node {
        name: Cow::Borrowed(QName(&buf[..name_len]).local_name().into_inner()),
        ..Node::default()
    };
    for attr in Attributes::new(buf, name_len) {
        let attr = attr.map_err(|err| {
            WinXmlError::doc(
                WinXmlErrorKind::NotWellFormed,
                pos,
                format!("attribute: {err}"),
            )
        })?;
        *tokens += 1;
        if *tokens > MAX_TOKENS {
            return Err(WinXmlError::doc(
                WinXmlErrorKind::TokenLimitExceeded,
                pos,
                format!("more than {MAX_TOKENS} start tags + attributes"),
            ));
        }
        let key = attr.key.into_inner();
        let value = attr
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|err| {
                WinXmlError::doc(
                    WinXmlErrorKind::NotWellFormed,
                    pos,
                    format!("attribute {key}: {err}"),
                )
            })?;
        if is_ns_decl(key) {
            continue;
        }
        node.attrs
            .push((Cow::Borrowed(attr.key.local_name().into_inner()), value));
    }
    if *tokens > MAX_TOKENS {
        return Err(WinXmlError::doc(
            WinXmlErrorKind::TokenLimitExceeded,
            pos,
            format!("more than {MAX_TOKENS} start tags + attributes"),
        ));
    }
    Ok(node)
}

pub(super) fn build_tree(text: &str) -> Result<Node<'_>, WinXmlError> {
    use WinXmlErrorKind as K;
    let mut reader = Reader::from_str(text);
    {
        let cfg = reader.config_mut();
        cfg.trim_text(false);
        cfg.check_end_names = true;
        cfg.expand_empty_elements = false;
        cfg.allow_dangling_amp = false;
        cfg.allow_unmatched_ends = false;
        cfg.check_comments = true;
    }
    let mut stack: Vec<Node> = Vec::new();
    let mut root: Option<Node> = None;
    let mut tokens = 0usize;
    let mut rendering_info: Option<u64> = None;
    loop {
        let before = reader.buffer_position();
        let event = reader.read_event().map_err(|err| {
            WinXmlError::doc(K::NotWellFormed, reader.error_position(), err.to_string())
        })?;
        match event {
            Event::DocType(d) => {
                let content = d.xml10_content();
                return Err(WinXmlError::doc(
                    doctype_kind(&content),
                    before,
                    "DOCTYPE is not allowed",
                ));
            }
            Event::Start(_) | Event::Empty(_) if root.is_some() => {
                return Err(WinXmlError::doc(
                    K::NotWellFormed,
                    before,
                    "more than one root element",
                ));
            }
            Event::Start(e) => {
                if stack.len() + 1 > MAX_DEPTH {
                    return Err(WinXmlError::doc(
                        K::DepthExceeded,
                        before,
                        format!("nesting deeper than {MAX_DEPTH}"),
                    ));
                }
                let node = open_element(text, &e, &mut tokens, before)?;
                if node.name == "RenderingInfo" && rendering_info.is_none() {
                    rendering_info = Some(before);
                }
                stack.push(node);
            }
            Event::Empty(e) => {
                if stack.len() + 1 > MAX_DEPTH {
                    return Err(WinXmlError::doc(
                        K::DepthExceeded,
                        before,
                        format!("nesting deeper than {MAX_DEPTH}"),
                    ));
                }
                let node = open_element(text, &e, &mut tokens, before)?;
                if node.name == "RenderingInfo" && rendering_info.is_none() {
                    rendering_info = Some(before);
                }
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => root = Some(node),
                }
            }
            Event::End(_) => {
                let Some(node) = stack.pop() else {
                    return Err(WinXmlError::doc(
                        K::NotWellFormed,
                        before,
                        "unmatched end tag",
                    ));
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => root = Some(node),
                }
            }
            Event::Text(t) => {
                let content = t.xml10_content();
                match stack.last_mut() {
                    Some(node) => node.push_text(content),
                    None => {
                        if !content
                            .trim_matches(|c| matches!(c, ' ' | '\t' | '\n'))
                            .is_empty()
                        {
                            return Err(WinXmlError::doc(
                                K::NotWellFormed,
                                before,
                                "text outside the root element",
                            ));
                        }
                    }
                }
            }
            Event::CData(c) => match stack.last_mut() {
                Some(node) => node.push_text(c.xml10_content()),
                None => {
                    return Err(WinXmlError::doc(
                        K::NotWellFormed,
                        before,
                        "CDATA outside the root",
                    ));
                }
            },
            Event::GeneralRef(r) => {
                let resolved = if r.is_char_ref() {
                    match r.resolve_char_ref() {
                        Ok(Some(c)) => c,
                        Ok(None) | Err(_) => {
                            return Err(WinXmlError::doc(
                                K::NotWellFormed,
                                before,
                                format!("invalid character reference &{};", &*r),
                            ));
                        }
                    }
                } else {
                    match predefined_entity(&r) {
                        Some(c) => c,
                        None => {
                            return Err(WinXmlError::doc(
                                K::NotWellFormed,
                                before,
                                format!("entity reference &{}; is not allowed", &*r),
                            ));
                        }
                    }
                };
                match stack.last_mut() {
                    Some(node) => node.text.to_mut().push(resolved),
                    None => {
                        return Err(WinXmlError::doc(
                            K::NotWellFormed,
                            before,
                            "reference outside the root",
                        ));
                    }
                }
            }
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(WinXmlError::doc(
            K::NotWellFormed,
            text.len() as u64,
            "unexpected end of input inside an element",
        ));
    }
    let Some(root) = root else {
        return Err(WinXmlError::doc(K::NotWellFormed, 0, "no root element"));
    };
    if let Some(at) = rendering_info {
        return Err(WinXmlError::new(
            K::RenderingInfoPresent,
            at,
            at,
            "RenderingInfo present (collector not in raw mode)",
        ));
    }
    Ok(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_pieces_join_and_plain_strings_are_borrowed() {
        let root = build_tree("<a x=\"1\">x<![CDATA[y\n]]>&amp;z<b/>&lt;w</a>").unwrap();
        assert_eq!(root.text, "xy\n&z<w");
        assert!(matches!(root.name, Cow::Borrowed("a")));
        assert!(matches!(
            root.attrs[0],
            (Cow::Borrowed("x"), Cow::Borrowed("1"))
        ));
        // Text starting with a reference, an escaped attribute of an empty element.
        let root = build_tree("<a>&lt;b<Data Name=\"a&lt;b\" p:k='v'/></a>").unwrap();
        assert_eq!(root.text, "<b");
        let data = root.child("Data").unwrap();
        assert_eq!(data.attr("Name"), Some("a<b"));
        assert_eq!(data.attr("k"), Some("v"));
        assert!(matches!(data.name, Cow::Borrowed("Data")));
    }

    #[test]
    fn bad_attributes_are_errors() {
        for doc in ["<a x=\"1\" x=\"2\"/>", "<a x=1/>", "<a x=\"&bogus;\"/>"] {
            let e = build_tree(doc).unwrap_err();
            assert_eq!(e.kind, WinXmlErrorKind::NotWellFormed, "{doc}");
        }
    }
}
