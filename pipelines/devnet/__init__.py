"""The embedded devnet: two anvil nodes, the OpenLedger contracts, a deployer and a simulator."""
