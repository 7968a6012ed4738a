//! Address lists as RocketMQ writes them.

/// Splits a NameServer address list, `host:port;host:port` (commas accepted too).
pub fn split_addr_list(list: &str) -> Vec<String> {
    list.split([';', ',']).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
}
