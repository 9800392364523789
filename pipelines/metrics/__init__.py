"""The three answers: real vs noise inference, payouts per model, circulating supply and
pressure — computed from the event store into DuckDB schema `metrics` (no Dagster here)."""
