//! Groups that ListGroups leaves out for a poll although they still exist: kept, marked and
//! without data, for a few polls, so a group never silently vanishes from the screen.

use foldhash::{HashMap, HashSet};

use super::snapshot::{Commits, Group};
use super::types::{GroupDescription, GroupListing, GroupState};

/// How many polls in a row a group of an earlier snapshot is kept while ListGroups leaves it out.
pub const UNLISTED_POLLS: u32 = 3;

/// The groups of the last snapshot that this poll's (watched) listing lacks, each with how many
/// polls in a row it has been left out, this one included; those left out longer than
/// [`UNLISTED_POLLS`] are gone (deleted, or expired).
///
/// ListGroups can leave out a group that still exists, for a poll, without any error: Kafka 4's
/// group coordinator answers ListGroups for each `__consumer_offsets` partition it hosts and
/// turns one whose coordinator is not active (being elected, loading has not started, resigning:
/// NOT_COORDINATOR) into an empty list (`GroupCoordinatorService.listGroups`, 4.1.1), which a
/// broker in controlled shutdown or just started answers for all of them; and on a cluster of
/// several brokers one whose listing fails drops out of librdkafka's merged answer
/// (`Admin::list_groups` keeps the partial list). Such a group is kept, without data.
///
/// Its commits are still asked for (OffsetFetch, not DescribeGroups): a group whose commits come
/// back is shown with them (the collector's `unlisted_description`), one without stays marked.
/// With stock librdkafka 2.12 that request could abort the process while the coordinator's
/// connection was down (confluentinc/librdkafka#4605), which vendor/rdkafka-sys fixes.
pub fn unlisted_groups(
    seen: &HashMap<String, u32>,
    watched: &[GroupListing],
) -> Vec<(String, u32)> {
    let listed: HashSet<&str> = watched.iter().map(|g| g.group_id.as_str()).collect();
    let mut unlisted: Vec<(String, u32)> = seen
        .iter()
        .filter(|(id, polls)| !listed.contains(id.as_str()) && **polls < UNLISTED_POLLS)
        .map(|(id, polls)| (id.clone(), polls + 1))
        .collect();
    unlisted.sort();
    unlisted
}

/// The start of the `error` of a group kept although ListGroups did not list it.
pub const UNLISTED: &str = "not in this poll's ListGroups answer";

/// A group kept without data (see `unlisted_groups`): its error says why.
pub fn unlisted_group(group_id: &str, polls: u32) -> Group {
    Group {
        group_id: group_id.to_string(),
        state: GroupState::Unknown,
        partition_assignor: String::new(),
        coordinator: None,
        members: Vec::new(),
        committed: Commits::default(),
        error: Some(format!(
            "{UNLISTED} (its coordinator moving or loading, or a broker's listing failed): no \
             data this poll; kept {polls} of {UNLISTED_POLLS} polls"
        )),
    }
}

/// What is known of a group ListGroups left out but whose commits came back: nothing but them.
pub fn unlisted_description(group_id: &str) -> GroupDescription {
    GroupDescription {
        group_id: group_id.to_string(),
        error: None,
        state: GroupState::Unknown,
        is_simple: false,
        partition_assignor: String::new(),
        coordinator: None,
        members: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::types::GroupType;

    fn listing(id: &str, state: GroupState, group_type: GroupType) -> GroupListing {
        GroupListing {
            group_id: id.to_string(),
            state,
            is_simple: false,
            group_type,
        }
    }

    #[test]
    fn groups_of_the_last_snapshot_missing_from_the_listing_are_kept_for_a_while() {
        let seen: HashMap<String, u32> = [("a", 0), ("b", 0), ("c", 0), ("d", 2), ("e", 3)]
            .into_iter()
            .map(|(id, n)| (id.to_string(), n))
            .collect();
        let watched = vec![
            listing("a", GroupState::Stable, GroupType::Classic),
            listing("c", GroupState::Empty, GroupType::Classic),
            listing("new", GroupState::Stable, GroupType::Classic),
        ];
        // b: first poll unlisted; d: third and last; e: left out longer, gone.
        assert_eq!(
            unlisted_groups(&seen, &watched),
            [("b".to_string(), 1), ("d".to_string(), 3)]
        );
        assert!(unlisted_groups(&HashMap::default(), &watched).is_empty());
        let g = unlisted_group("b", 1);
        assert_eq!(g.state, GroupState::Unknown);
        assert!(g.members.is_empty() && g.committed.is_empty() && g.coordinator.is_none());
        let error = g.error.unwrap();
        assert!(
            error.starts_with(UNLISTED) && error.ends_with("kept 1 of 3 polls"),
            "{error}"
        );
    }
}
