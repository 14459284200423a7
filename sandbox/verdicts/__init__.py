"""The CI verdict on an integration: whether it was tested against every scenario
asked for, retried safely after the faults it was given, and whether its webhook
receiver passed the audit. One judge for `sandbox gate` and the pytest plugin's gates,
so the two can never judge differently; and the verdict written for people, JUnit
reports and JSON."""
