// Command dbstress runs many goroutines of verified operations on a Strata DB in a directory
// you name, and, with --kill, kills the process that runs them at random moments and checks
// what survived: run it on your own filesystem (ext4, xfs, a network mount, tmpfs) to learn
// whether Strata is safe there. It is Strata's db_stress and db_crashtest in one program.
//
//	dbstress --db /mnt/disk/stress --duration 10m           operations in this process
//	dbstress --db /mnt/disk/stress --kill --duration 1h     in children, killed (SIGKILL) again and again
//
// Each of --threads goroutines runs a mix of puts, deletes, batches of 2 to 16 keys, Gets,
// iterator scans (forward and backward, with both bounds, one or none), snapshots read many
// operations later, transactions (DB.Update: a read-modify-write of a few keys, some reading a
// key another goroutine writes, so that some conflict), and now and then a CompactRange or a
// Checkpoint (opened read-only and checked whole). Every read is checked against the expected
// state: for each key of the key space ("k00000042", --keys of them), the number of writes of it
// so far (its version) and whether the last was a put. The value of version v of key k is a
// function of (k, v) ("k00000042@7/112:" and letters drawn from both), so a value found says
// which version it is and whether it is whole; a goroutine writes only the keys it owns, so the
// expected state of a key is exact while goroutines run concurrently, and a read of another
// goroutine's key may find any version the key held during the read.
//
// With --kill the operations run in a child process (this program again). The child reports
// every write on a pipe before it begins and after it returns; the parent kills the child after
// a random time (--kill_interval, counted from the child's Open; one kill in eight lands within
// its first MIN instead, in the recovery from the previous kill), opens the DB and requires, for
// every key, the last acknowledged write or the one in flight at the kill, and each write in
// flight (a batch, a transaction) there whole or not at all. Then the next child starts.
//
// The expected state is kept between runs, and between children, in dbstress.expected in the
// DB's directory; a run on a directory dbstress used before checks that DB first. dbstress never
// writes into a directory that is neither empty nor its own.
//
// It prints a progress line every --progress and a summary at the end, PASS or FAIL; a violation
// is printed as it is found, with the key, the expected and the found values, followed at the
// end by the seed and the command that runs the same again. --format=json prints the progress
// and the summary as JSON objects, one a line. --version prints the version.
//
// Exit status: 0 when every check passed; 1 on a violation, or an error of the DB (an I/O error,
// a hang: no operation completing for two minutes); 2 for wrong usage or a directory dbstress
// cannot use. docs/dbstress.md says how to run it, what it checks, how to read its output and how
// to reproduce a failure.
package main
