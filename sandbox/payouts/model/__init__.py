"""What a payout is, with no database: its row as stored (`rows`), its statuses and
moves (`states`), the failure catalogue (`failures`), the scenario table (`scenarios`),
the destination rules (`destinations`), the refusals it raises (`errors`), and how it
shows on the wire (`schemas`, the msgspec Structs; `views`, a row made into one). It
imports no other part of the payouts: every other part may import it."""
