// Command usernames runs the 100-million-username challenge on Strata, pebble, goleveldb and
// (built with -tags cleveldb) C++ leveldb 1.23: read a file of n usernames, index them, then
// check that every one is found and that 4 names known to be absent are not, within one memory
// budget. The full run, on a quiet machine with about 5 GB free in --dir:
//
//	cd bench && go run -tags cleveldb ./cmd/usernames --dir /var/tmp/usernames --json usernames.json
//
// (--n 100000000 and --memory 1.2GiB are the defaults.)
//
// The input, DIR/usernames-<n>-<seed>.txt, is written once and reused while its sidecar
// (the same name plus ".json": format, n, seed, length and CRC-32C) matches; otherwise it is
// written again. It holds n distinct names, one per line, of 6 to 16 characters of [a-z0-9_],
// in random order, all a function of --n and --seed; names.go says why they are distinct and
// why the absent names are absent.
//
// Each engine runs in a process of its own (this binary again, with -child), one after the
// other, in a fresh directory under --dir removed after its run:
//
//  1. load: the input is read a chunk at a time into a new DB, which the engine makes durable
//     and closes; the tool then fsyncs every file of the DB. The load's time runs from opening
//     the file to the end of that.
//  2. verify: the DB is reopened and the input read again a chunk at a time, in the file's
//     order; every name of a chunk is looked up (the engine may sort the chunk first, as a
//     batched lookup would), then the 4 absent names. The verify's time runs from the reopen
//     to the close.
//
// It prints the load and verify seconds, the process's peak RSS (VmHWM of /proc/self/status,
// read by the child at its end: the high-water mark of both phases), the DB's bytes on disk
// after the load, the names not found (missing) and the absent names found (false found); a
// progress line on stderr while a phase runs; a table at the end; and with --json FILE, one
// object per engine: {"engine", "n", "load_s", "verify_s", "peak_rss_bytes", "disk_bytes",
// "missing", "false_found"} ("error" too if the engine failed). It exits with status 1 when an
// engine failed, missed a name or found an absent one.
//
// The budget, --memory, bounds each engine's process, the tool's buffers included: the tool
// never holds more than one chunk of names (memPlan gives the chunk sizes and the engines'
// shares), each engine gets its share through the options it has (memtable or write buffer and
// block cache sizes; the header of the output says what each does with it), and the Go heap's
// soft limit is set to the budget less what the engine allocates outside it.
//
// Each engine does the job with its best public API: pebble writes each sorted chunk as
// sstables with its sstable.Writer and ingests them, and seeks one iterator through each sorted
// chunk (pebble then moves each level forward rather than seeking it anew: three times less
// CPU than a Get per name, measured at 1,000,000 names); goleveldb and C++ leveldb write sorted
// chunks in large batches and look each name of a sorted chunk up (Has, Get), with their bloom
// filters. Strata loads and looks up as goleveldb does, or with DB.NewLoader; strata.go is where
// its path switches, to the bulk loader and to its batched lookup.
//
// With USERNAMES_CPUPROFILE_DIR=DIR in the environment, each engine's process writes a CPU
// profile of each phase to DIR/<engine>-load.pprof and DIR/<engine>-verify.pprof.
package main
