package raftstore_test

// TestCluster runs real hashicorp/raft nodes on raftstore, in one process, on raft's in-memory
// transport: each node has its own Store (log and stable state), FileSnapshotStore and a
// Strata DB as its state machine (kvFSM in example_test.go). No sleeps: the test waits on
// raft's futures, or polls a condition with a deadline.

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/stretchr/testify/require"
)

// clusterWait bounds every wait of the cluster test; the whole test takes a few seconds.
const clusterWait = 20 * time.Second

// syncBuffer is a bytes.Buffer for raft's log output, written by many goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// cluster is a set of nodes, some running, on connected in-memory transports. Its raft logs go
// to logs, printed if the test fails.
type cluster struct {
	t          *testing.T
	dir        string
	logs       *syncBuffer
	nodes      map[raft.ServerID]*node
	transports map[raft.ServerID]*raft.InmemTransport
}

func newCluster(t *testing.T) *cluster {
	c := &cluster{t: t, dir: t.TempDir(), logs: &syncBuffer{},
		nodes: map[raft.ServerID]*node{}, transports: map[raft.ServerID]*raft.InmemTransport{}}
	t.Cleanup(func() {
		for id := range c.nodes {
			c.stop(id)
		}
		if t.Failed() {
			t.Logf("raft's log:\n%s", c.logs)
		}
	})
	return c
}

// start starts node id from its directory (new or not), connected to every running node.
func (c *cluster) start(id raft.ServerID) *node {
	c.t.Helper()
	addr, trans := raft.NewInmemTransport(raft.ServerAddress(id))
	for _, peer := range c.transports {
		trans.Connect(peer.LocalAddr(), peer)
		peer.Connect(addr, trans)
	}
	c.transports[id] = trans
	n, err := openNode(id, filepath.Join(c.dir, string(id)), trans, c.logs, func(conf *raft.Config) {
		conf.HeartbeatTimeout = 200 * time.Millisecond
		conf.ElectionTimeout = 200 * time.Millisecond
		conf.LeaderLeaseTimeout = 100 * time.Millisecond
		conf.CommitTimeout = 5 * time.Millisecond
		// Snapshots only when the test asks, and then a short log left behind.
		conf.SnapshotThreshold = 1 << 40
		conf.SnapshotInterval = time.Hour
		conf.TrailingLogs = 100
	})
	require.NoError(c.t, err)
	c.nodes[id] = n
	return n
}

// stop shuts node id down and disconnects it.
func (c *cluster) stop(id raft.ServerID) {
	c.t.Helper()
	n := c.nodes[id]
	delete(c.nodes, id)
	for _, peer := range c.transports {
		peer.Disconnect(raft.ServerAddress(id))
	}
	delete(c.transports, id)
	require.NoError(c.t, n.close())
}

// leader waits for one of the running nodes to lead, and returns it.
func (c *cluster) leader() *node {
	c.t.Helper()
	var leader *node
	require.NoError(c.t, waitFor(clusterWait, "leader", func() bool {
		for _, n := range c.nodes {
			if n.raft.State() == raft.Leader {
				leader = n
				return true
			}
		}
		return false
	}))
	return leader
}

func clusterKey(i int) string   { return fmt.Sprintf("key-%06d", i) }
func clusterValue(i int) string { return fmt.Sprintf("value-%06d", i) }

// write commits the keys [from, to) through the leader, all in flight at once, and returns
// the index of the last. A write that fails because leadership moved is tried again on the
// new leader (a set is idempotent): when write returns, every key is committed.
func (c *cluster) write(from, to int) uint64 {
	c.t.Helper()
	var last uint64
	pending := make([]int, 0, to-from)
	for i := from; i < to; i++ {
		pending = append(pending, i)
	}
	deadline := time.Now().Add(clusterWait)
	for len(pending) > 0 {
		require.True(c.t, time.Now().Before(deadline), "%d writes not committed after %v", len(pending), clusterWait)
		leader := c.leader()
		futures := make([]raft.ApplyFuture, len(pending))
		for j, i := range pending {
			futures[j] = leader.raft.Apply(setCommand(clusterKey(i), clusterValue(i)), clusterWait)
		}
		var failed []int
		for j, f := range futures {
			err := f.Error()
			if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) || errors.Is(err, raft.ErrEnqueueTimeout) {
				failed = append(failed, pending[j])
				continue
			}
			require.NoError(c.t, err)
			if resp, ok := f.Response().(error); ok {
				require.NoError(c.t, resp)
			}
			last = max(last, f.Index())
		}
		pending = failed
	}
	return last
}

// requireApplied waits until n has applied index, then requires its map to hold exactly the
// keys [0, keys).
func requireApplied(t *testing.T, n *node, index uint64, keys int) {
	t.Helper()
	require.NoError(t, waitFor(clusterWait, fmt.Sprintf("index %d applied", index), func() bool {
		return n.fsm.AppliedIndex() >= index
	}))
	it := n.fsm.d.NewIterator(nil)
	i := 0
	for k, v := range it.All() {
		require.Equal(t, clusterKey(i), string(k))
		require.Equal(t, clusterValue(i), string(v))
		i++
	}
	require.NoError(t, it.Close())
	require.Equal(t, keys, i, "keys in the map")
}

func TestCluster(t *testing.T) {
	start := time.Now()
	c := newCluster(t)
	ids := []raft.ServerID{"n0", "n1", "n2"}
	var servers []raft.Server
	for _, id := range ids {
		c.start(id)
		servers = append(servers, raft.Server{ID: id, Address: raft.ServerAddress(id)})
	}
	require.NoError(t, c.nodes["n0"].raft.BootstrapCluster(raft.Configuration{Servers: servers}).Error())

	// Thousands of writes, on every node.
	const first, second = 3000, 1000
	last := c.write(0, first)
	for _, n := range c.nodes {
		requireApplied(t, n, last, first)
	}
	t.Logf("%d writes committed and applied on 3 nodes: %v", first, time.Since(start))

	// The leader goes down: another is elected, with every committed write.
	old := c.leader()
	var oldID raft.ServerID
	for id, n := range c.nodes {
		if n == old {
			oldID = id
		}
	}
	c.stop(oldID)
	leader := c.leader()
	require.NoError(t, leader.raft.Barrier(clusterWait).Error())
	requireApplied(t, leader, last, first)
	last = c.write(first, first+second)
	t.Logf("%s stopped, a new leader committed %d more: %v", oldID, second, time.Since(start))

	// The old leader comes back from its directories and catches up.
	restarted := c.start(oldID)
	requireApplied(t, restarted, last, first+second)
	t.Logf("%s restarted and caught up: %v", oldID, time.Since(start))

	// A snapshot, and the log truncated behind it to TrailingLogs entries: a new node cannot
	// catch up from the log and must install the snapshot.
	leader = c.leader()
	require.NoError(t, leader.raft.Snapshot().Error())
	firstIndex, err := leader.store.FirstIndex()
	require.NoError(t, err)
	lastIndex, err := leader.store.LastIndex()
	require.NoError(t, err)
	require.Greater(t, firstIndex, uint64(1), "the leader's log was not truncated")
	require.LessOrEqual(t, lastIndex-firstIndex+1, uint64(200), "log %d..%d after the snapshot", firstIndex, lastIndex)

	fresh := c.start("n3")
	require.NoError(t, leader.raft.AddVoter("n3", "n3", 0, clusterWait).Error())
	last = c.write(first+second, first+second+100)
	requireApplied(t, fresh, last, first+second+100)
	snaps, err := raft.NewFileSnapshotStore(filepath.Join(c.dir, "n3", "snapshots"), 2, c.logs)
	require.NoError(t, err)
	metas, err := snaps.List()
	require.NoError(t, err)
	require.NotEmpty(t, metas, "n3 caught up without installing a snapshot")
	freshFirst, err := fresh.store.FirstIndex()
	require.NoError(t, err)
	require.Greater(t, freshFirst, metas[0].Index, "n3's log starts after the snapshot")
	t.Logf("n3 joined from the snapshot at index %d: %v", metas[0].Index, time.Since(start))
}
