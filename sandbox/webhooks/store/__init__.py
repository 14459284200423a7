"""The webhooks' storage: the Piccolo tables (`tables`), the delivery rows and their
leases (`deliveries`), attempts recorded together (`recorder`) and the counts for
/metrics (`metrics`). It may import `model` only."""
