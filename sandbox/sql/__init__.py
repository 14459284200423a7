"""Every database function of the sandbox, one file per version.

`sandbox/sql/<function>/vNN.sql` holds version NN of the function: the whole
`CREATE OR REPLACE FUNCTION` statement, runnable as it is. `ls sandbox/sql/outbox_emit`
lists its versions and `diff v01.sql v02.sql` shows what a version changed. A migration
moves a function to a version by loading that file (`versions.load`), and its BACKWARDS
loads the version before (or drops a function it created). A released version's file
never changes: a change is a new file and a new migration. tests/sql/test_versions.py
checks that the migrated database holds the highest version of every function, and no
function without a file."""
