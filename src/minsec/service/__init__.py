"""The partnership service: REST API, TLP 2.0 information sharing, audit, storage."""
