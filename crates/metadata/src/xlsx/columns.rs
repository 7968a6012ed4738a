//! The columns of the Topics and Groups sheets: their headers (matched by name, in any order),
//! which are required, which only a 5.x workbook has, and how the writer lays them out.

/// One field of a topic or group row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Field {
    TopicName,
    ReadQueues,
    WriteQueues,
    Perm,
    Order,
    MessageType,
    Broker,
    FilterType,
    TopicSysFlag,
    TopicAttributes,
    GroupName,
    ConsumeEnable,
    ConsumeBroadcast,
    ConsumeOrderly,
    RetryMaxTimes,
    RetryQueues,
    BrokerId,
    SlowBrokerId,
    ConsumeFromMin,
    NotifyIdsChanged,
    GroupSysFlag,
    GroupAttributes,
    OtherFields,
}

/// What a column holds, for the writer's data validation and the read-me sheet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Text,
    /// A whole number in the range.
    Whole(i64, i64),
    Perm,
    Bool,
    /// One of the listed words (the first ones are offered in the dropdown).
    OneOf(&'static [&'static str], &'static [&'static str]),
    Attributes,
    Json,
}

pub(crate) struct Column {
    pub field: Field,
    /// As the writer writes it.
    pub header: &'static str,
    /// Other headers accepted for it, normalized (see [`normalize`]).
    pub aliases: &'static [&'static str],
    pub required: bool,
    /// Written only in 5.x workbooks (read from any workbook).
    pub v5_only: bool,
    /// Written in templates (exports write every column of their flavor).
    pub in_template: bool,
    pub width: f64,
    pub kind: Kind,
    /// What an empty cell means.
    pub default: &'static str,
    pub meaning: &'static str,
}

pub(crate) const QUEUES: Kind = Kind::Whole(1, 1024);
pub(crate) const MESSAGE_TYPES: &[&str] = &["NORMAL", "FIFO", "DELAY", "TRANSACTION"];
/// Also taken by 5.3.3 brokers (`TopicAttributes.TOPIC_MESSAGE_TYPE_ATTRIBUTE`), not offered.
pub(crate) const MORE_MESSAGE_TYPES: &[&str] = &["UNSPECIFIED", "MIXED"];
pub(crate) const FILTER_TYPES: &[&str] = &["SINGLE_TAG", "MULTI_TAG"];

const fn col(field: Field, header: &'static str, aliases: &'static [&'static str], kind: Kind) -> Column {
    Column {
        field,
        header,
        aliases,
        required: false,
        v5_only: false,
        in_template: true,
        width: 14.0,
        kind,
        default: "",
        meaning: "",
    }
}

const fn required(mut c: Column) -> Column {
    c.required = true;
    c
}
const fn v5(mut c: Column) -> Column {
    c.v5_only = true;
    c
}
const fn export_only(mut c: Column) -> Column {
    c.in_template = false;
    c
}
const fn width(mut c: Column, w: f64) -> Column {
    c.width = w;
    c
}
const fn says(mut c: Column, default: &'static str, meaning: &'static str) -> Column {
    c.default = default;
    c.meaning = meaning;
    c
}

pub(crate) const TOPIC_COLUMNS: &[Column] = &[
    says(
        width(required(col(Field::TopicName, "Topic", &["topic", "topicname", "name"], Kind::Text)), 32.0),
        "",
        "the topic name; NS%name puts it in namespace NS",
    ),
    says(
        required(col(
            Field::ReadQueues,
            "Read queues",
            &["readqueues", "readqueuenums", "readqueuenum"],
            QUEUES,
        )),
        "",
        "read queues on each master (or on the row's broker)",
    ),
    says(
        required(col(
            Field::WriteQueues,
            "Write queues",
            &["writequeues", "writequeuenums", "writequeuenum"],
            QUEUES,
        )),
        "",
        "write queues on each master (or on the row's broker)",
    ),
    says(
        col(Field::Perm, "Perm", &["perm", "permission"], Kind::Perm),
        "6",
        "6 (or rw) read and write, 4 (r) read only, 2 (w) write only",
    ),
    says(
        col(Field::Order, "Order", &["order", "ordered"], Kind::Bool),
        "FALSE",
        "an ordered topic (4.x style)",
    ),
    says(
        v5(col(
            Field::MessageType,
            "Message type",
            &["messagetype"],
            Kind::OneOf(MESSAGE_TYPES, MORE_MESSAGE_TYPES),
        )),
        "(none)",
        "5.x attribute message.type",
    ),
    says(
        width(col(Field::Broker, "Broker", &["broker", "brokername"], Kind::Text), 18.0),
        "every master",
        "the master these queue numbers are for; give one row per broker, or one row with no broker",
    ),
    says(
        export_only(col(
            Field::FilterType,
            "Filter type",
            &["filtertype", "topicfiltertype"],
            Kind::OneOf(FILTER_TYPES, &[]),
        )),
        "SINGLE_TAG",
        "topicFilterType",
    ),
    says(
        export_only(col(
            Field::TopicSysFlag,
            "Sys flag",
            &["sysflag", "topicsysflag"],
            Kind::Whole(0, i32::MAX as i64),
        )),
        "0",
        "topicSysFlag",
    ),
    says(
        width(
            export_only(v5(col(Field::TopicAttributes, "Attributes", &["attributes"], Kind::Attributes))),
            24.0,
        ),
        "(none)",
        "other 5.x topic attributes, key=value, comma separated (message.type has its own column)",
    ),
];

pub(crate) const GROUP_COLUMNS: &[Column] = &[
    says(
        width(
            required(col(
                Field::GroupName,
                "Group",
                &["group", "groupname", "consumergroup", "name"],
                Kind::Text,
            )),
            32.0,
        ),
        "",
        "the consumer group name; NS%name puts it in namespace NS",
    ),
    says(
        col(Field::ConsumeEnable, "Consume enable", &["consumeenable", "consumeenabled"], Kind::Bool),
        "TRUE",
        "consumeEnable: the group may consume",
    ),
    says(
        col(
            Field::ConsumeBroadcast,
            "Consume broadcast",
            &["consumebroadcast", "consumebroadcastenable", "broadcast"],
            Kind::Bool,
        ),
        "TRUE",
        "consumeBroadcastEnable",
    ),
    says(
        v5(col(
            Field::ConsumeOrderly,
            "Consume orderly",
            &["consumeorderly", "consumemessageorderly"],
            Kind::Bool,
        )),
        "(not set)",
        "5.x consumeMessageOrderly",
    ),
    says(
        col(
            Field::RetryMaxTimes,
            "Retry max times",
            &["retrymaxtimes", "maxretrytimes"],
            Kind::Whole(-1, 65535),
        ),
        "16",
        "retryMaxTimes: deliveries before the dead-letter queue",
    ),
    says(
        col(Field::RetryQueues, "Retry queues", &["retryqueues", "retryqueuenums"], Kind::Whole(0, 1024)),
        "1",
        "retryQueueNums on each master",
    ),
    says(
        col(Field::BrokerId, "Broker id", &["brokerid", "consumefrombrokerid"], Kind::Whole(0, 65535)),
        "0",
        "brokerId: consume from this broker id (0 = the master)",
    ),
    says(
        width(
            col(
                Field::SlowBrokerId,
                "Broker id when slow",
                &["brokeridwhenslow", "whichbrokerwhenconsumeslowly", "whichbrokerwhenslow"],
                Kind::Whole(0, 65535),
            ),
            18.0,
        ),
        "1",
        "whichBrokerWhenConsumeSlowly",
    ),
    says(
        export_only(col(
            Field::ConsumeFromMin,
            "Consume from min",
            &["consumefrommin", "consumefromminenable"],
            Kind::Bool,
        )),
        "TRUE",
        "consumeFromMinEnable",
    ),
    says(
        width(
            export_only(col(
                Field::NotifyIdsChanged,
                "Notify ids changed",
                &["notifyidschanged", "notifyconsumeridschanged", "notifyconsumeridschangedenable"],
                Kind::Bool,
            )),
            18.0,
        ),
        "TRUE",
        "notifyConsumerIdsChangedEnable",
    ),
    says(
        export_only(col(
            Field::GroupSysFlag,
            "Sys flag",
            &["sysflag", "groupsysflag"],
            Kind::Whole(0, i32::MAX as i64),
        )),
        "0",
        "groupSysFlag",
    ),
    says(
        width(
            export_only(v5(col(Field::GroupAttributes, "Attributes", &["attributes"], Kind::Attributes))),
            24.0,
        ),
        "(none)",
        "5.x group attributes, key=value, comma separated",
    ),
    says(
        width(
            export_only(v5(col(
                Field::OtherFields,
                "Other fields (JSON)",
                &["otherfields", "otherfieldsjson", "extra"],
                Kind::Json,
            ))),
            40.0,
        ),
        "(none)",
        "the group's other config fields as a JSON object, e.g. {\"consumeTimeoutMinute\":15}",
    ),
];

/// A header as matched: lower case, letters and digits only ("Read queues" -> "readqueues").
pub(crate) fn normalize(header: &str) -> String {
    header.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

/// The column a header names.
pub(crate) fn column_for<'a>(columns: &'a [Column], header: &str) -> Option<&'a Column> {
    let h = normalize(header);
    columns.iter().find(|c| normalize(c.header) == h || c.aliases.contains(&h.as_str()))
}

/// `0` -> `A`, `25` -> `Z`, `26` -> `AA`.
pub(crate) fn letter(col: u32) -> String {
    let mut n = col as u64 + 1;
    let mut out = Vec::new();
    while n > 0 {
        let rem = ((n - 1) % 26) as u8;
        out.push(b'A' + rem);
        n = (n - 1) / 26;
    }
    out.reverse();
    String::from_utf8(out).expect("ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_as_excel_shows_them() {
        assert_eq!(letter(0), "A");
        assert_eq!(letter(25), "Z");
        assert_eq!(letter(26), "AA");
        assert_eq!(letter(701), "ZZ");
        assert_eq!(letter(702), "AAA");
    }

    #[test]
    fn headers_match_by_name_and_alias() {
        assert_eq!(column_for(TOPIC_COLUMNS, " READ queues ").map(|c| c.field), Some(Field::ReadQueues));
        assert_eq!(column_for(TOPIC_COLUMNS, "readQueueNums").map(|c| c.field), Some(Field::ReadQueues));
        assert_eq!(column_for(TOPIC_COLUMNS, "message_type").map(|c| c.field), Some(Field::MessageType));
        assert_eq!(
            column_for(GROUP_COLUMNS, "whichBrokerWhenConsumeSlowly").map(|c| c.field),
            Some(Field::SlowBrokerId)
        );
        assert!(column_for(TOPIC_COLUMNS, "Notes").is_none());
    }

    #[test]
    fn aliases_are_normalized_and_unique_per_sheet() {
        for columns in [TOPIC_COLUMNS, GROUP_COLUMNS] {
            let mut seen = std::collections::BTreeSet::new();
            for c in columns {
                assert!(seen.insert(normalize(c.header)), "{}", c.header);
                for a in c.aliases {
                    assert_eq!(normalize(a), *a, "alias {a} is not normalized");
                    if *a != normalize(c.header) {
                        assert!(seen.insert(a.to_string()), "alias {a} is used twice");
                    }
                }
            }
        }
    }
}
