package raftstore_test

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"

	"github.com/stratadb/strata/db"
	"github.com/stratadb/strata/raftstore"
)

// kvFSM is a replicated key-value map: raft's state machine, kept in a Strata DB of its own.
// Every node applies the same commands in the same order, so every node's DB ends up the same.
type kvFSM struct {
	d *db.DB
	// applied is the index of the last entry applied. (raft's own AppliedIndex counts entries
	// handed to the FSM, not yet applied.)
	applied atomic.Uint64
}

// setCommand encodes the command that sets key to value: the key's length as a uvarint, the
// key, the value.
func setCommand(key, value string) []byte {
	cmd := binary.AppendUvarint(nil, uint64(len(key)))
	cmd = append(cmd, key...)
	return append(cmd, value...)
}

// Apply implements raft.FSM.
func (f *kvFSM) Apply(l *raft.Log) any { return f.ApplyBatch([]*raft.Log{l})[0] }

// ApplyBatch implements raft.BatchingFSM: the commands committed together go into the DB in
// one write. It is not synced: raft's log is the durable record, replayed after a crash.
func (f *kvFSM) ApplyBatch(logs []*raft.Log) []any {
	results := make([]any, len(logs))
	var b db.Batch
	for i, l := range logs {
		if l.Type != raft.LogCommand {
			continue // configuration changes: raft's own business
		}
		n, k := binary.Uvarint(l.Data)
		if k <= 0 || uint64(len(l.Data)-k) < n {
			results[i] = fmt.Errorf("bad command at index %d", l.Index)
			continue
		}
		b.Put(l.Data[k:k+int(n)], l.Data[k+int(n):])
	}
	if err := f.d.Write(&b, nil); err != nil {
		for i := range results {
			results[i] = err
		}
		return results
	}
	if len(logs) > 0 {
		f.applied.Store(logs[len(logs)-1].Index)
	}
	return results
}

// AppliedIndex returns the index of the last entry in the map.
func (f *kvFSM) AppliedIndex() uint64 { return f.applied.Load() }

// Get reads key from this node's copy of the map.
func (f *kvFSM) Get(key string) (string, error) {
	v, err := f.d.Get([]byte(key), nil)
	return string(v), err
}

// Snapshot implements raft.FSM: a DB snapshot fixes the state now, and Persist writes it out
// later, while Apply goes on.
func (f *kvFSM) Snapshot() (raft.FSMSnapshot, error) {
	return &kvSnapshot{d: f.d, snap: f.d.NewSnapshot()}, nil
}

// Restore implements raft.FSM: it replaces the map with the snapshot's, a stream of
// key and value pairs, each a uvarint length and the bytes.
func (f *kvFSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	var b db.Batch
	flush := func() error {
		err := f.d.Write(&b, nil)
		b.Reset()
		return err
	}
	it := f.d.NewIterator(nil)
	for ok := it.First(); ok; ok = it.Next() {
		b.Delete(it.Key())
		if b.Size() > 1<<20 {
			if err := flush(); err != nil {
				it.Close()
				return err
			}
		}
	}
	if err := it.Close(); err != nil {
		return err
	}
	r := bufio.NewReader(rc)
	for {
		key, err := readBytes(r)
		if errors.Is(err, io.EOF) {
			return flush()
		}
		if err != nil {
			return err
		}
		value, err := readBytes(r)
		if err != nil {
			return fmt.Errorf("snapshot cut off after key %q: %w", key, err)
		}
		b.Put(key, value)
		if b.Size() > 1<<20 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
}

func readBytes(r *bufio.Reader) ([]byte, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, err
	}
	if n > 1<<30 {
		return nil, fmt.Errorf("snapshot holds a length of %d", n)
	}
	buf := make([]byte, n)
	_, err = io.ReadFull(r, buf)
	return buf, err
}

// kvSnapshot is a kvFSM's state at one moment, for raft to persist.
type kvSnapshot struct {
	d    *db.DB
	snap *db.Snapshot
}

// Persist implements raft.FSMSnapshot.
func (s *kvSnapshot) Persist(sink raft.SnapshotSink) error {
	w := bufio.NewWriter(sink)
	it := s.d.NewIterator(&db.ReadOptions{Snapshot: s.snap, DontFillCache: true})
	var err error
	for k, v := range it.All() {
		w.Write(binary.AppendUvarint(nil, uint64(len(k))))
		w.Write(k)
		w.Write(binary.AppendUvarint(nil, uint64(len(v))))
		if _, err = w.Write(v); err != nil {
			break
		}
	}
	err = errors.Join(err, it.Close(), w.Flush())
	if err != nil {
		sink.Cancel()
		return err
	}
	return sink.Close()
}

// Release implements raft.FSMSnapshot.
func (s *kvSnapshot) Release() { s.snap.Release() }

// node is one member of a cluster: its raft, and under it the store of its log and stable
// state, its snapshots and its map, each in a directory of dir.
type node struct {
	raft  *raft.Raft
	store *raftstore.Store
	fsm   *kvFSM
}

// openNode starts the node id in dir, creating its directories or carrying on from what they
// hold. configure, if not nil, adjusts raft's configuration.
func openNode(id raft.ServerID, dir string, trans raft.Transport, logOutput io.Writer, configure func(*raft.Config)) (*node, error) {
	config := raft.DefaultConfig()
	config.LocalID = id
	config.LogOutput = logOutput
	config.BatchApplyCh = true
	if configure != nil {
		configure(config)
	}
	store, err := raftstore.Open(filepath.Join(dir, "raft"), nil)
	if err != nil {
		return nil, err
	}
	snapshots, err := raft.NewFileSnapshotStore(filepath.Join(dir, "snapshots"), 2, logOutput)
	if err != nil {
		store.Close()
		return nil, err
	}
	d, err := db.Open(filepath.Join(dir, "fsm"), nil)
	if err != nil {
		store.Close()
		return nil, err
	}
	fsm := &kvFSM{d: d}
	r, err := raft.NewRaft(config, fsm, store, store, snapshots, trans)
	if err != nil {
		store.Close()
		d.Close()
		return nil, err
	}
	return &node{raft: r, store: store, fsm: fsm}, nil
}

// close stops the node and closes its stores.
func (n *node) close() error {
	return errors.Join(n.raft.Shutdown().Error(), n.store.Close(), n.fsm.d.Close())
}

// waitFor polls cond until it holds, or returns an error after timeout.
func waitFor(timeout time.Duration, what string, cond func() bool) error {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(timeout)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			return fmt.Errorf("no %s after %v", what, timeout)
		}
	}
	return nil
}

// Example runs a three-node cluster in one process: a write through the leader is read back
// from a follower's copy of the map. A real cluster runs one node per machine, with
// raft.NewTCPTransport instead of the in-memory transport and raft's default timeouts.
func Example() {
	base, err := os.MkdirTemp("", "raftstore-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(base)

	ids := []raft.ServerID{"a", "b", "c"}
	transports := make([]*raft.InmemTransport, len(ids))
	var servers []raft.Server
	for i, id := range ids {
		addr, t := raft.NewInmemTransport(raft.ServerAddress(id))
		transports[i] = t
		servers = append(servers, raft.Server{ID: id, Address: addr})
	}
	for _, t := range transports {
		for _, peer := range transports {
			t.Connect(peer.LocalAddr(), peer)
		}
	}

	var nodes []*node
	for i, id := range ids {
		n, err := openNode(id, filepath.Join(base, string(id)), transports[i], io.Discard, func(c *raft.Config) {
			c.HeartbeatTimeout = 100 * time.Millisecond
			c.ElectionTimeout = 100 * time.Millisecond
			c.LeaderLeaseTimeout = 50 * time.Millisecond
		})
		if err != nil {
			log.Fatal(err)
		}
		defer n.close()
		nodes = append(nodes, n)
	}
	// Once, when the cluster is new: every node learns the members from the first one.
	if err := nodes[0].raft.BootstrapCluster(raft.Configuration{Servers: servers}).Error(); err != nil {
		log.Fatal(err)
	}

	var leader *node
	err = waitFor(10*time.Second, "leader", func() bool {
		for _, n := range nodes {
			if n.raft.State() == raft.Leader {
				leader = n
				return true
			}
		}
		return false
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("a leader is elected")

	// Apply returns once a majority has the command in its log (synced by raftstore) and the
	// leader has applied it.
	f := leader.raft.Apply(setCommand("greeting", "hello"), 5*time.Second)
	if err := f.Error(); err != nil {
		log.Fatal(err)
	}
	if err, ok := f.Response().(error); ok {
		log.Fatal(err)
	}

	for _, n := range nodes {
		if n == leader {
			continue
		}
		// A follower applies the command once it learns it is committed.
		err := waitFor(10*time.Second, "command on a follower", func() bool { return n.fsm.AppliedIndex() >= f.Index() })
		if err != nil {
			log.Fatal(err)
		}
		v, err := n.fsm.Get("greeting")
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("a follower reads greeting = %s\n", v)
	}
	// Output:
	// a leader is elected
	// a follower reads greeting = hello
	// a follower reads greeting = hello
}
