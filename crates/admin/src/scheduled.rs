//! Messages a broker holds back until they are due: delay-level messages (4.x and 5.x, in
//! `SCHEDULE_TOPIC_XXXX`) and 5.x timer messages. Due ones are delivered to their topic on the same
//! broker, so a migration must not leave the source while some are still waiting.

use std::collections::BTreeMap;

use ferry_remoting::{fastjson, Frame, RequestCode, ResponseCode};
use serde::Deserialize;

use crate::client::Admin;
use crate::error::AdminError;

/// The runtime-info keys `scheduleMessageOffset_<level>` = `"<delivered>,<max>"`
/// (`ScheduleMessageService.buildRunningStats`, 4.9.x and 5.x).
const SCHEDULE_KEY: &str = "scheduleMessageOffset_";

/// Delay-level messages not yet due in a broker's runtime figures, summed over levels. A broker
/// does not say which topic they are for.
pub fn pending_delayed_in(runtime_info: &BTreeMap<String, String>) -> i64 {
    runtime_info
        .iter()
        .filter(|(k, _)| k.starts_with(SCHEDULE_KEY))
        .filter_map(|(_, v)| {
            let (delivered, max) = v.split_once(',')?;
            Some((max.trim().parse::<i64>().ok()? - delivered.trim().parse::<i64>().ok()?).max(0))
        })
        .sum()
}

impl Admin {
    /// Delay-level messages a broker holds that are not yet due (all topics).
    pub async fn pending_delayed(&self, broker_addr: &str) -> Result<i64, AdminError> {
        Ok(pending_delayed_in(&self.broker_runtime_info(broker_addr).await?))
    }

    /// 5.x timer messages for `topic` not yet due on a broker (GET_TIMER_METRICS); `None` where the
    /// broker has no timer store (4.x, or 5.x with it off).
    pub async fn pending_timer(&self, broker_addr: &str, topic: &str) -> Result<Option<i64>, AdminError> {
        #[derive(Deserialize, Default)]
        #[serde(rename_all = "camelCase", default)]
        struct Metric {
            count: i64,
        }
        #[derive(Deserialize, Default)]
        #[serde(rename_all = "camelCase", default)]
        struct Wrapper {
            timing_count: BTreeMap<String, Metric>,
        }
        let op = RequestCode::GET_TIMER_METRICS;
        match self.call(broker_addr, Frame::request(op)).await {
            Ok(r) => {
                let w: Wrapper = fastjson::from_slice(&r.body).map_err(|e| AdminError::UnreadableBody {
                    addr: broker_addr.to_string(),
                    op,
                    detail: e.to_string(),
                })?;
                Ok(Some(w.timing_count.get(topic).map_or(0, |m| m.count.max(0))))
            }
            Err(AdminError::Unsupported { .. }) => Ok(None),
            // "The timer message store is null": no timer store.
            Err(AdminError::Refused { code, .. }) if code == ResponseCode::SYSTEM_ERROR => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delayed_messages_are_counted_per_level_from_runtime_info() {
        let info: BTreeMap<String, String> = [
            ("scheduleMessageOffset_1", "5,9"),
            ("scheduleMessageOffset_3", "12,12"),
            ("scheduleMessageOffset_18", "0,2"),
            ("scheduleMessageOffset_4", "garbled"),
            ("msgPutTotalTodayNow", "100"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(pending_delayed_in(&info), 6);
    }
}
