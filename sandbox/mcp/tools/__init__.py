"""The tools, by what they act on (merchants, payouts, webhooks, verdicts), the arguments
they share, and a payout's explanation."""
