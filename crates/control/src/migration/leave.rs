//! Leaving Ferry: whether clients can be pointed at the target's NameServer and Ferry stopped.
//!
//! The way out is in three moves. Every topic goes Direct (routes name the target's brokers, no
//! relay); clients take that route at their next refresh and let go of the relays (a relay lets
//! an idle client go, `[proxy.limits] idle_timeout_secs`); then clients are pointed at the
//! target's NameServer, at the operator's pace, and once none asks Ferry for routes any more it
//! can stop. The report says which move is next and who holds it up.

use ferry_proxy::{ClientRecord, RelayTraffic, Side, Stage};
use serde::{Deserialize, Serialize};

/// What the next move out of Ferry is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeaveVerdict {
    /// Some topics are not Direct yet: step them (after Completed).
    StepTopicsToDirect,
    /// Every topic is Direct but clients still use relays: they let go at their next route
    /// refresh and after the relay's idle timeout.
    WaitForRelaysToEmpty,
    /// No client uses a relay: point clients' NameServer address at the target; Ferry still
    /// answers route lookups until then.
    PointClientsAtTarget,
    /// Nobody uses Ferry: it can stop.
    SafeToStop,
}

/// A relay with client connections open through it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayInUse {
    pub side: Side,
    pub broker: String,
    pub port: u16,
    pub connections: usize,
}

/// A client with connections open through relays.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientOnRelay {
    pub client_id: String,
    pub addr: String,
    pub connections: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeaveReport {
    pub verdict: LeaveVerdict,
    /// The next move in words, naming what holds it up.
    pub say: String,
    /// The migration's topics not Direct yet, with their stage.
    pub topics_not_direct: Vec<(String, Stage)>,
    /// Ferry-wide: relays still carrying clients, and those clients.
    pub relays_in_use: Vec<RelayInUse>,
    pub clients_on_relays: Vec<ClientOnRelay>,
    /// Connections open to Ferry's NameServer front (clients that still ask it for routes).
    pub front_connections: usize,
    /// Fleet: instances not heard from whose NameServer front does not refuse connections (they
    /// may still carry clients, uncounted here).
    pub unheard_instances: Vec<String>,
}

/// The report from what the migration and the proxies of the fleet say now (`unheard`: instances
/// that cannot say, and may still carry clients).
pub fn report(
    topics: &[(String, Stage)],
    relays: &[RelayTraffic],
    clients: &[ClientRecord],
    front_connections: usize,
    unheard: &[String],
) -> LeaveReport {
    let topics_not_direct: Vec<(String, Stage)> =
        topics.iter().filter(|(_, s)| *s != Stage::Direct).cloned().collect();
    let relays_in_use: Vec<RelayInUse> = relays
        .iter()
        .filter(|r| r.connections > 0)
        .map(|r| RelayInUse {
            side: r.assignment.side,
            broker: r.assignment.backend.clone(),
            port: r.assignment.port,
            connections: r.connections,
        })
        .collect();
    let clients_on_relays: Vec<ClientOnRelay> = clients
        .iter()
        .filter(|c| c.connections > 0)
        .map(|c| ClientOnRelay {
            client_id: c.client_id.clone(),
            addr: c.addr.clone(),
            connections: c.connections,
        })
        .collect();
    let (verdict, say) = if topics.is_empty() {
        (LeaveVerdict::StepTopicsToDirect, "the migration has no topics".to_string())
    } else if !topics_not_direct.is_empty() {
        let open: Vec<String> = topics_not_direct.iter().map(|(t, s)| format!("{t} ({s})")).collect();
        (
            LeaveVerdict::StepTopicsToDirect,
            format!("step every topic to Direct once Completed; not yet: {}", open.join(", ")),
        )
    } else if !unheard.is_empty() {
        (
            LeaveVerdict::WaitForRelaysToEmpty,
            format!(
                "Ferry instance(s) not heard from and still accepting connections: {}: their relays may carry \
                 clients (start them again, or stop them for good and forget them)",
                unheard.join(", ")
            ),
        )
    } else if !relays_in_use.is_empty() {
        let connections: usize = relays_in_use.iter().map(|r| r.connections).sum();
        (
            LeaveVerdict::WaitForRelaysToEmpty,
            format!(
                "{connections} client connection(s) still go through {} relay(s) ({} client(s) known): they let \
                 go after their next route refresh and the relay's idle timeout; a client that keeps one \
                 uses a topic still relayed (another migration's, or one outside any migration)",
                relays_in_use.len(),
                clients_on_relays.len()
            ),
        )
    } else if front_connections > 0 {
        (
            LeaveVerdict::PointClientsAtTarget,
            format!(
                "no client uses a relay: point clients' NameServer address at the target; {front_connections} \
                 connection(s) still ask Ferry for routes, and Ferry can stop when none does"
            ),
        )
    } else {
        (LeaveVerdict::SafeToStop, "nobody uses Ferry: it can stop".to_string())
    };
    LeaveReport {
        verdict,
        say,
        topics_not_direct,
        relays_in_use,
        clients_on_relays,
        front_connections,
        unheard_instances: unheard.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use ferry_proxy::RelayAssignment;

    use super::*;

    fn relay(connections: usize) -> RelayTraffic {
        RelayTraffic {
            assignment: RelayAssignment { side: Side::Target, backend: "10.0.0.9:10911".into(), port: 30001 },
            connections,
            pulled_messages: 12,
        }
    }

    fn client(connections: usize) -> ClientRecord {
        ClientRecord {
            client_id: "10.0.0.5@1".into(),
            addr: "10.0.0.5".into(),
            language: "JAVA".into(),
            version: 0,
            sides: Default::default(),
            producer_groups: Default::default(),
            consumer_groups: Default::default(),
            produced: Default::default(),
            last_seen: std::time::SystemTime::UNIX_EPOCH,
            connections,
        }
    }

    /// Topics, connections on the relay, of the client, to the front; verdict, words.
    type Row<'a> = (&'a [(String, Stage)], usize, usize, usize, LeaveVerdict, &'a str);

    #[test]
    fn the_next_move_out_of_ferry() {
        use LeaveVerdict::*;
        let direct = [("orders".to_string(), Stage::Direct), ("refunds".to_string(), Stage::Direct)];
        let mixed = [("orders".to_string(), Stage::Direct), ("refunds".to_string(), Stage::Completed)];
        #[rustfmt::skip]
        let table: [Row; 6] = [
            (&[],      0, 0, 0, StepTopicsToDirect,   "no topics"),
            (&mixed,   0, 0, 0, StepTopicsToDirect,   "refunds (Completed)"),
            (&direct,  3, 2, 5, WaitForRelaysToEmpty, "3 client connection(s) still go through 1 relay(s) (1 client(s) known)"),
            (&direct,  0, 0, 5, PointClientsAtTarget, "5 connection(s) still ask Ferry"),
            // A client whose relay connections closed is not counted.
            (&direct,  0, 0, 0, SafeToStop,           "it can stop"),
            (&mixed,   3, 2, 5, StepTopicsToDirect,   "not yet: refunds (Completed)"),
        ];
        for (topics, relay_connections, client_connections, front, verdict, words) in table {
            let r = report(topics, &[relay(relay_connections)], &[client(client_connections)], front, &[]);
            assert_eq!(r.verdict, verdict, "{topics:?} {relay_connections} {front}");
            assert!(r.say.contains(words), "{}", r.say);
            assert_eq!(r.relays_in_use.len(), usize::from(relay_connections > 0));
            assert_eq!(r.clients_on_relays.len(), usize::from(client_connections > 0));
        }
        // Silence is not zero: an instance not heard from may carry clients.
        let r = report(&direct, &[relay(0)], &[client(0)], 0, &["ferry-2".to_string()]);
        assert_eq!(r.verdict, WaitForRelaysToEmpty);
        assert!(r.say.contains("not heard from and still accepting connections: ferry-2"), "{}", r.say);
        let r = report(&mixed, &[relay(0)], &[client(0)], 0, &["ferry-2".to_string()]);
        assert_eq!(r.verdict, StepTopicsToDirect, "topics first");
    }
}
