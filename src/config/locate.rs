//! Finds the line of a config key from its path, so every config error names both.

use toml_edit::{Document, Item};

/// One step of a key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A table key.
    Key(String),
    /// An array index.
    Index(usize),
}

/// Renders a path like `apps[0].attributes."name.givenName"`.
pub fn render(path: &[Step]) -> String {
    let mut s = String::new();
    for step in path {
        match step {
            Step::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                if k.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                {
                    s.push_str(k);
                } else {
                    s.push_str(&format!("{k:?}"));
                }
            }
            Step::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

/// Converts a serde_path_to_error path.
pub fn from_serde_path(path: &serde_path_to_error::Path) -> Vec<Step> {
    use serde_path_to_error::Segment;
    path.iter()
        .filter_map(|seg| match seg {
            Segment::Map { key } => Some(Step::Key(key.clone())),
            Segment::Seq { index } => Some(Step::Index(*index)),
            Segment::Enum { variant } => Some(Step::Key(variant.clone())),
            Segment::Unknown => None,
        })
        .collect()
}

/// The 1-based line of the deepest part of `path` present in the document.
pub fn line_of(text: &str, path: &[Step]) -> Option<usize> {
    let doc = Document::parse(text).ok()?;
    let mut best: Option<usize> = None;
    let mut node = Node::Item(doc.as_item());
    for step in path {
        let Some((span, next)) = child(node, step) else {
            break;
        };
        if let Some(l) = span_line(text, span) {
            best = Some(l);
        }
        node = next;
    }
    best
}

#[derive(Clone, Copy)]
enum Node<'a> {
    Item(&'a Item),
    Table(&'a toml_edit::Table),
    Value(&'a toml_edit::Value),
}

fn child<'a>(node: Node<'a>, step: &Step) -> Option<(Option<std::ops::Range<usize>>, Node<'a>)> {
    use toml_edit::Value as V;
    match (node, step) {
        (Node::Item(Item::Table(t)) | Node::Table(t), Step::Key(k)) => {
            let (key, item) = t.get_key_value(k)?;
            Some((key.span(), Node::Item(item)))
        }
        (
            Node::Item(Item::Value(V::InlineTable(t))) | Node::Value(V::InlineTable(t)),
            Step::Key(k),
        ) => {
            let (key, item) = t.get_key_value(k)?;
            Some((key.span(), Node::Item(item)))
        }
        (Node::Item(Item::ArrayOfTables(a)), Step::Index(i)) => {
            let t = a.get(*i)?;
            Some((t.span(), Node::Table(t)))
        }
        (Node::Item(Item::Value(V::Array(a))) | Node::Value(V::Array(a)), Step::Index(i)) => {
            let v = a.get(*i)?;
            Some((v.span(), Node::Value(v)))
        }
        _ => None,
    }
}

fn span_line(text: &str, span: Option<std::ops::Range<usize>>) -> Option<usize> {
    let span = span?;
    let upto = text.get(..span.start)?;
    Some(upto.matches('\n').count() + 1)
}

/// The line where `key = ` appears inside the table at `table_path` (for unknown keys,
/// which serde reports without a position).
pub fn line_of_key_in(text: &str, table_path: &[Step], key: &str) -> Option<usize> {
    let mut p = table_path.to_vec();
    p.push(Step::Key(key.to_string()));
    let l = line_of(text, &p)?;
    // Only trust it if the key itself was found (deeper than the table).
    let table_line = line_of(text, table_path);
    if Some(l) != table_line || table_path.is_empty() {
        Some(l)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "[daemon]\nstate_path = \"/x\"\n\n[[apps]]\nname = \"a\"\n\n[[apps]]\nname = \"b\"\nbase_url = \"nope\"\n[apps.attributes]\nuserName = \"{{ email }}\"\n";

    #[test]
    fn finds_lines_of_nested_keys() {
        let p = |s: &[Step]| line_of(DOC, s);
        assert_eq!(
            p(&[Step::Key("daemon".into()), Step::Key("state_path".into())]),
            Some(2)
        );
        assert_eq!(
            p(&[
                Step::Key("apps".into()),
                Step::Index(1),
                Step::Key("base_url".into())
            ]),
            Some(9)
        );
        assert_eq!(
            p(&[
                Step::Key("apps".into()),
                Step::Index(1),
                Step::Key("attributes".into()),
                Step::Key("userName".into())
            ]),
            Some(11)
        );
    }

    #[test]
    fn renders_paths() {
        let p = vec![
            Step::Key("apps".into()),
            Step::Index(0),
            Step::Key("attributes".into()),
            Step::Key("name.givenName".into()),
        ];
        assert_eq!(render(&p), "apps[0].attributes.\"name.givenName\"");
    }
}
