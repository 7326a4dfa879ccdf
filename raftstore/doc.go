// Package raftstore keeps the log and the stable state of a hashicorp/raft node in a Strata
// DB: a Store is a raft.LogStore and a raft.StableStore, for raft.NewRaft's logs and stable
// arguments, in place of raft-boltdb.
//
//	store, err := raftstore.Open(filepath.Join(dir, "raft"), nil)
//	if err != nil {
//		return err
//	}
//	defer store.Close()
//	r, err := raft.NewRaft(config, fsm, store, store, snapshots, transport)
//
// # Guarantees
//
// StoreLogs writes its entries in one atomic DB write, synced: when it returns they are on
// stable storage, and a crash at any moment leaves each call's entries all there or all
// absent. Set and SetUint64 are synced too, and DeleteRange is one atomic write. (Options.NoSync
// trades the syncs for speed; raft's safety assumes them.) Concurrent StoreLogs calls share the
// DB's group commit, so several of them cost one sync.
//
// FirstIndex and LastIndex answer from memory: the store finds the log's bounds when it opens
// and keeps them up to date. GetLog of an index outside them, or of one in a gap, returns
// raft.ErrLogNotFound. Get and GetUint64 of a key never set return ErrKeyNotFound, whose text
// is the "not found" raft looks for. Every field of raft.Log is kept: AppendedAt as its
// instant (in the local time zone, without its monotonic clock reading).
//
// The store keeps gaps in the log's indexes (raft leaves one after installing a snapshot on a
// follower), so it does not implement raft.MonotonicLogStore.
//
// # Files
//
// The directory is an ordinary Strata DB, which leveldb's tools and sstdump can read;
// docs/format/raftlog.md specifies the keys and values the store writes into it. One process
// opens it at a time. docs/raft.md says more: the options, what deletions cost, and the store
// measured against raft-boltdb.
//
// # Concurrency
//
// Every method is safe for concurrent use.
package raftstore
