//! Names clients know brokers by. Clients key queues, offsets and locks by broker name, so two
//! clusters that both have `broker-a` (Apache's sample configs, most clusters rebuilt from the
//! same templates) cannot share one merged route as they are: the target's brokers are shown
//! under another name, chosen once per migration and kept (it becomes client state), and the
//! relays rewrite the few places a name travels (docs/protocol-notes.md section 14).

use std::collections::{BTreeMap, BTreeSet};

/// An alias must be a valid topic name (`[%|a-zA-Z0-9_-]`: the 5.x Proxy looks a broker name up
/// as a topic), with no space, `:` or `;` (separators of receipt handles and address lists).
fn clean(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect()
}

/// Aliases for every target broker when any target broker's name is also a source broker's;
/// none otherwise. Each is `<prefix><name>`, the prefix (`zz-`, `zzz-`, ...) chosen so that every
/// alias sorts after every source name: a producer lists queues by broker name, and strict order
/// needs one side's names all before the other's (`ordered-queue-counts`).
pub fn target_aliases(source: &BTreeSet<String>, target: &BTreeSet<String>) -> BTreeMap<String, String> {
    if source.is_disjoint(target) {
        return BTreeMap::new();
    }
    let last_source = source.last().map(String::as_str).unwrap_or("");
    let mut n = 2;
    loop {
        let prefix = format!("{}-", "z".repeat(n));
        let aliases: BTreeMap<String, String> =
            target.iter().map(|t| (t.clone(), format!("{prefix}{}", clean(t)))).collect();
        if aliases.values().all(|a| a.as_str() > last_source) || n >= 64 {
            return aliases;
        }
        n += 1;
    }
}

/// The alias of a target broker that appears during a migration whose brokers already have
/// aliases: the same prefix as theirs.
pub fn alias_for_new(existing: &BTreeMap<String, String>, name: &str) -> Option<String> {
    existing
        .iter()
        .find_map(|(real, alias)| alias.strip_suffix(&clean(real)))
        .map(|prefix| format!("{prefix}{}", clean(name)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(v: &[&str]) -> BTreeSet<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    /// Source names, target names, and the aliases expected.
    type Row<'a> = (&'a [&'a str], &'a [&'a str], &'a [(&'a str, &'a str)]);

    #[test]
    fn aliases_only_when_names_collide_and_all_sort_after_the_source() {
        #[rustfmt::skip]
        let table: [Row; 4] = [
            (&["broker-a", "broker-b"], &["broker-c"], &[]),
            (&["broker-a", "broker-b"], &["broker-a", "broker-b"], &[("broker-a", "zz-broker-a"), ("broker-b", "zz-broker-b")]),
            // Only one collides: every target broker is renamed, so that the sides stay apart.
            (&["broker-a"], &["broker-a", "broker-c"], &[("broker-a", "zz-broker-a"), ("broker-c", "zz-broker-c")]),
            // A source name sorting after `zz-`: a longer prefix.
            (&["zz-x", "broker-a"], &["broker-a"], &[("broker-a", "zzz-broker-a")]),
        ];
        for (source, target, want) in table {
            let got = target_aliases(&set(source), &set(target));
            let want: BTreeMap<String, String> =
                want.iter().map(|(r, a)| (r.to_string(), a.to_string())).collect();
            assert_eq!(got, want, "{source:?} / {target:?}");
        }
    }

    #[test]
    fn aliases_are_valid_topic_names_and_new_brokers_get_the_same_prefix() {
        let a = target_aliases(&set(&["broker.a"]), &set(&["broker.a"]));
        assert_eq!(a["broker.a"], "zz-broker_a");
        assert_eq!(alias_for_new(&a, "broker.b").as_deref(), Some("zz-broker_b"));
        assert_eq!(alias_for_new(&BTreeMap::new(), "broker-b"), None);
    }
}
