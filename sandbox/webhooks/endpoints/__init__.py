"""What a merchant manages: its endpoints (register, change, delete, rotate the signing
key: `endpoints`) and its event log (events, their deliveries and attempts, resend:
`events`). Each function owns its transaction. It may import `store` and `model`."""
