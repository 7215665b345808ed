//! A group, topic or cluster pipetop may not DESCRIBE: the broker's "authorization failed" said as
//! what it means, with the principal to grant it to (README: "The permissions pipetop needs").
//! Such an item stays listed with this error; it is never dropped from the snapshot.

/// The sentence for an error that is a broker's authorization failure, else None.
pub fn not_authorized(error: &str, principal: &str) -> Option<String> {
    // librdkafka's texts for GROUP_, TOPIC_ and CLUSTER_AUTHORIZATION_FAILED.
    let what = [
        ("Group authorization failed", "group"),
        ("Topic authorization failed", "topic"),
        ("Cluster authorization failed", "cluster"),
    ]
    .into_iter()
    .find(|(text, _)| error.contains(text))
    .map(|(_, what)| what)?;
    Some(format!(
        "not authorized: {principal} may not DESCRIBE this {what} (grant it, see \"The permissions \
         pipetop needs\")"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_failures_name_the_principal() {
        let said = not_authorized(
            "LISTCONSUMERGROUPOFFSETS worker coordinator request failed: Broker: Group \
             authorization failed",
            "User:pipetop",
        );
        assert_eq!(
            said.as_deref(),
            Some(
                "not authorized: User:pipetop may not DESCRIBE this group (grant it, see \"The \
                 permissions pipetop needs\")"
            )
        );
        assert_eq!(
            not_authorized("Broker: Coordinator not available", "User:pipetop"),
            None
        );
    }
}
