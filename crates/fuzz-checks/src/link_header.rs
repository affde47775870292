//! The `Link` header reader of the `header_link` paginator
//! (`dltrs::rest_api::link_with_rel`).

use dltrs::rest_api::link_with_rel;

use crate::shown;

/// Relation names the built headers use.
const RELS: [&str; 5] = ["next", "prev", "last", "first", "self"];

/// On arbitrary text (the first line a relation, the rest the header) the reader never
/// panics and returns a URL written between `<` and `>` in the header. On a header built
/// from the input the way servers write them (GitHub: `<url>; rel="next", <url>; rel="last"`),
/// it returns the URL of the link with the relation asked for, wherever the link is.
pub fn link_header(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (rel, header) = text.split_once('\n').unwrap_or(("next", text));
    if let Some(url) = link_with_rel(header, rel) {
        assert!(
            !url.contains('>') && header.contains(&url),
            "{url:?} is not a link of {}",
            shown(data)
        );
    }
    built_header(data);
}

/// A well-formed header of up to five links, their URLs and relations picked by the input;
/// the link asked for is the first one with its relation.
fn built_header(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let mut links = Vec::new();
    for (n, part) in rest.split(|&b| b == b' ').take(RELS.len()).enumerate() {
        // the characters of a URL in a header: no brackets, quotes, separators or spaces
        let url: String = String::from_utf8_lossy(part)
            .chars()
            .filter(|c| c.is_ascii_graphic() && !"<>\";,".contains(*c))
            .collect();
        let rel = RELS[(usize::from(pick) + n) % RELS.len()];
        let quoted = (usize::from(pick) >> 3) % 2 == 0;
        let spaced = (usize::from(pick) >> 4) % 2 == 0;
        links.push((url, rel, quoted, spaced));
    }
    let header = links
        .iter()
        .map(|(url, rel, quoted, spaced)| {
            let rel = if *quoted {
                format!("\"{rel}\"")
            } else {
                (*rel).to_owned()
            };
            let separator = if *spaced { "; " } else { ";" };
            format!("<{url}>{separator}rel={rel}")
        })
        .collect::<Vec<_>>()
        .join(", ");
    for rel in RELS {
        let expected = links
            .iter()
            .find(|(_, r, ..)| *r == rel)
            .map(|(url, ..)| url.clone());
        assert_eq!(
            link_with_rel(&header, rel),
            expected,
            "the {rel:?} link of {header:?}"
        );
    }
}
