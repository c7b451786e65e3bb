//! How an error is told, to the command line and in API error messages: its
//! context chain, outermost first.

/// The chain of `err` joined by ": ", as anyhow's `{:#}` joins it, but
/// without a cause whose text the message before it already ends with:
/// many errors (sqlx's, for one) put their source's text in their own
/// message and return it as their source too, and `{:#}` then says it twice.
pub fn chain(err: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in err.chain() {
        let part = cause.to_string();
        if text.is_empty() {
            text = part;
        } else if !text.ends_with(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::chain;

    #[derive(Debug, thiserror::Error)]
    #[error("error communicating with database: {0}")]
    struct Repeats(#[source] std::io::Error);

    fn refused() -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused")
    }

    #[test]
    fn a_cause_already_in_the_message_is_said_once() {
        let err = anyhow::Error::new(Repeats(refused())).context("connecting to postgres://h/db");
        assert_eq!(chain(&err), "connecting to postgres://h/db: error communicating with database: Connection refused");
    }

    #[test]
    fn a_cause_not_in_the_message_is_appended() {
        let err = anyhow::Error::new(refused()).context("binding 127.0.0.1:8080").context("starting");
        assert_eq!(chain(&err), "starting: binding 127.0.0.1:8080: Connection refused");
    }
}
