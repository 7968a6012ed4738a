//! Broker names on the wire. When a target broker is shown to clients under an alias (its name is
//! also a source broker's), what a target broker sends clients with its own name in it must carry
//! the alias instead: the client matches queues by name (docs/protocol-notes.md section 14). Admin
//! reads answered by a target broker (consume stats, topic stats) are renamed the same way, so a
//! tool looking through Ferry does not see two clusters' `broker-a` merged into one.

/// RESET_CONSUMER_CLIENT_OFFSET's body with each real broker name replaced by its alias, or `None`
/// when nothing changes. The broker writes it with fastjson (`Broker2Client.resetOffset`):
/// `ResetOffsetBody` as `{"offsetTable":{{"brokerName":"broker-a","queueId":0,"topic":"T"}:42}}`
/// (object keys), `ResetOffsetBodyForC` as a list of objects with the same field. Topic names
/// cannot hold a quote, so the field is rewritten where it stands, leaving every other byte as the
/// broker wrote it.
pub fn reset_offset_body(body: &[u8], alias: &dyn Fn(&str) -> Option<String>) -> Option<Vec<u8>> {
    broker_fields(body, alias)
}

/// A fastjson body with every `"brokerName":"<real>"` field carrying the alias instead, or `None`
/// when nothing changes. Message queues are written that way wherever they appear (map keys of
/// `ConsumeStats.offsetTable` and `TopicStatsTable.offsetTable`, `ResetOffsetBody`, lists).
pub fn broker_fields(body: &[u8], alias: &dyn Fn(&str) -> Option<String>) -> Option<Vec<u8>> {
    const FIELD: &[u8] = b"\"brokerName\":\"";
    let mut out = Vec::with_capacity(body.len() + 16);
    let mut rest = body;
    let mut changed = false;
    while let Some(at) = find(rest, FIELD) {
        let value_start = at + FIELD.len();
        let Some(len) = rest[value_start..].iter().position(|b| *b == b'"') else { break };
        let real = std::str::from_utf8(&rest[value_start..value_start + len]).ok();
        out.extend_from_slice(&rest[..value_start]);
        match real.and_then(alias) {
            Some(a) => {
                out.extend_from_slice(a.as_bytes());
                changed = true;
            }
            None => out.extend_from_slice(&rest[value_start..value_start + len]),
        }
        rest = &rest[value_start + len..];
    }
    out.extend_from_slice(rest);
    changed.then_some(out)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alias(real: &str) -> Option<String> {
        (real == "broker-a").then(|| "zz-broker-a".to_string())
    }

    #[test]
    fn reset_offset_bodies_carry_the_alias() {
        // As fastjson writes ResetOffsetBody (map keys are objects) and ResetOffsetBodyForC.
        let body = br#"{"offsetTable":{{"brokerName":"broker-a","queueId":0,"topic":"T"}:42,{"brokerName":"broker-b","queueId":1,"topic":"T"}:7}}"#;
        let out = reset_offset_body(body, &alias).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"offsetTable":{{"brokerName":"zz-broker-a","queueId":0,"topic":"T"}:42,{"brokerName":"broker-b","queueId":1,"topic":"T"}:7}}"#
        );
        let for_c = br#"{"offsetTable":[{"brokerName":"broker-a","offset":42,"queueId":0,"topic":"T"}]}"#;
        let out = String::from_utf8(reset_offset_body(for_c, &alias).unwrap()).unwrap();
        assert!(out.contains(r#""brokerName":"zz-broker-a","offset":42"#), "{out}");
        assert_eq!(reset_offset_body(br#"{"offsetTable":{}}"#, &alias), None, "nothing to rename");
        assert_eq!(reset_offset_body(br#"{"brokerName":"broker-a"#, &alias), None, "cut short: left alone");
    }
}
