"""The payout's storage: its Piccolo table (`tables`), the SQL of its row (`repository`;
`many` for set-based writes), the merchants' own scenarios as payouts read them
(`own_scenarios`) and the status counts for /metrics (`metrics`). Callers own the
transaction. It may import `model` only: nothing here decides how a payout moves."""
