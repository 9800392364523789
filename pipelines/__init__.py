"""openledger-warehouse: event-sourced indexer and analytics warehouse for OpenLedger."""
