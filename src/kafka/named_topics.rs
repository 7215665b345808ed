//! Topics that a pipeline or a consumer's assignment names but the cluster's metadata left out.
//!
//! A Metadata request for every topic lists only the topics the principal may DESCRIBE, without a
//! word about the others, and a group's commits leave them out the same way. So a topic pipetop
//! is not allowed to see would simply be missing. For the names pipetop has reason to expect (the
//! config's pipelines, the members' assignments), it asks for each missing one by name: the
//! broker then says why (TOPIC_AUTHORIZATION_FAILED, UNKNOWN_TOPIC_OR_PARTITION), and the topic is
//! listed with that reason instead of vanishing. Such a request never creates the topic: the
//! client sets `allow.auto.create.topics=false` (see `client_config`).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use rdkafka::types::RDKafkaErrorCode;

use super::admin::Admin;
use super::authorization::not_authorized;
use super::filter::{Filters, is_internal_topic};
use super::snapshot::{KafkaSnapshot, Topic};

/// At most this many names are asked for per poll (one Metadata request each); normally none.
pub const MAX_ASKED: usize = 20;

/// The names to ask for: expected (`named`, or assigned to a member of a watched group), shown
/// by the filters, and not among the snapshot's topics. Sorted, at most [`MAX_ASKED`].
pub fn unlisted(snapshot: &KafkaSnapshot, named: &[String], filters: &Filters) -> Vec<String> {
    let listed: BTreeSet<&str> = snapshot.topics.iter().map(|t| t.name.as_str()).collect();
    let assigned = snapshot
        .groups
        .iter()
        .flat_map(|g| &g.members)
        .flat_map(|m| &m.assignment)
        .map(|a| &*a.topic);
    named
        .iter()
        .map(String::as_str)
        .chain(assigned)
        .filter(|name| !name.is_empty() && !listed.contains(name))
        .filter(|name| filters.topic(name, is_internal_topic(name)))
        .collect::<BTreeSet<&str>>()
        .into_iter()
        .take(MAX_ASKED)
        .map(str::to_string)
        .collect()
}

/// Why the broker left a topic out, from its answer to a Metadata request for that name alone.
/// None when it now lists it after all (created since): the next poll shows it as usual.
pub fn reason(error: Option<RDKafkaErrorCode>, principal: &str) -> Option<String> {
    let code = error?;
    let text = code.to_string();
    Some(match code {
        RDKafkaErrorCode::UnknownTopicOrPartition => {
            "does not exist (a pipeline or a consumer's assignment names it)".to_string()
        }
        _ => not_authorized(&text, principal).unwrap_or_else(|| format!("metadata: {text}")),
    })
}

/// Asks for each name in `names`, one after another within `budget` in all, and adds those the
/// broker refuses or does not know to the snapshot's topics, without partitions and with the
/// reason. Names left when the budget is spent wait for the next poll. Counted as Metadata
/// requests.
pub fn add_unlisted(
    admin: &Admin,
    snapshot: &mut KafkaSnapshot,
    names: &[String],
    budget: Duration,
) {
    if names.is_empty() {
        return;
    }
    let principal = admin.identity().principal();
    let deadline = Instant::now() + budget;
    let mut asked: u32 = 0;
    for name in names {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        asked += 1;
        let error = match admin.client().inner().fetch_metadata(Some(name), left) {
            Ok(md) => match md.topics().iter().find(|t| t.name() == name) {
                Some(t) => reason(t.error().map(RDKafkaErrorCode::from), &principal),
                None => Some("metadata: the broker did not answer for it".to_string()),
            },
            Err(e) => Some(format!("metadata: {e}")),
        };
        if let Some(error) = error {
            snapshot.topics.push(Topic {
                name: name.clone(),
                internal: is_internal_topic(name),
                partitions: Vec::new(),
                error: Some(error),
            });
        }
    }
    snapshot.requests_by_kind.metadata = snapshot.requests_by_kind.metadata.saturating_add(asked);
    snapshot.requests = snapshot.requests.saturating_add(asked);
    snapshot.topics.sort_by(|a, b| a.name.cmp(&b.name));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::snapshot::{Assigned, Group, Member};

    fn member(topic: &str) -> Member {
        Member {
            consumer_id: "c".into(),
            client_id: "c".into(),
            host: "h".into(),
            assignment: vec![Assigned {
                topic: topic.into(),
                partition: 0,
            }],
        }
    }

    #[test]
    fn names_expected_but_not_listed_are_asked_once_each() {
        let snapshot = KafkaSnapshot {
            topics: vec![Topic {
                name: "listed".into(),
                internal: false,
                partitions: Vec::new(),
                error: None,
            }],
            groups: vec![Group {
                group_id: "g".into(),
                state: crate::kafka::types::GroupState::Stable,
                partition_assignor: String::new(),
                coordinator: None,
                members: vec![member("assigned"), member("listed"), member("pipeline")],
                committed: Default::default(),
                error: None,
            }],
            ..KafkaSnapshot::default()
        };
        let named = ["pipeline".to_string(), "listed".to_string(), String::new()];
        let filters = Filters::default();
        assert_eq!(
            unlisted(&snapshot, &named, &filters),
            vec!["assigned".to_string(), "pipeline".to_string()]
        );
        let many: Vec<String> = (0..50).map(|i| format!("t{i:02}")).collect();
        assert_eq!(unlisted(&snapshot, &many, &filters).len(), MAX_ASKED);
    }

    #[test]
    fn the_reason_names_the_principal_or_says_it_does_not_exist() {
        assert_eq!(
            reason(
                Some(RDKafkaErrorCode::TopicAuthorizationFailed),
                "User:pipetop"
            )
            .as_deref(),
            Some(
                "not authorized: User:pipetop may not DESCRIBE this topic (grant it, see \"The \
                 permissions pipetop needs\")"
            )
        );
        assert_eq!(
            reason(
                Some(RDKafkaErrorCode::UnknownTopicOrPartition),
                "User:pipetop"
            )
            .as_deref(),
            Some("does not exist (a pipeline or a consumer's assignment names it)")
        );
        assert_eq!(reason(None, "User:pipetop"), None);
    }
}
