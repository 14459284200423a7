"""The receiver audit: the battery of cases (`audit_cases`), sending them and judging the
answers through the delivery path's own sender (`audits`), and the run as JUnit XML
(`audit_junit`). It may import `delivery`, `store` and `model`."""
