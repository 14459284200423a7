"""The webhooks' storage: the Piccolo tables (`tables`), the delivery rows and their
leases (`deliveries`), attempts recorded together (`recorder`), the counts for
/metrics (`metrics`) and whether targets inside the network are refused now, read from
the settings and the teams made (`target_policy`). It may import `model` only."""
